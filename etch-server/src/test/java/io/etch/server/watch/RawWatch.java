package io.etch.server.watch;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.WatchCancelRequest;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchGrpc;
import io.etch.api.etcdserverpb.WatchProgressRequest;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One raw Watch stream over its own channel, with manual flow control: the client asks for each
 * response ({@link #request}), so a test can stop reading and let the server's buffer fill.
 */
final class RawWatch implements AutoCloseable {
  private final ManagedChannel channel;
  private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
  private final ClientCallStreamObserver<WatchRequest> requests;
  private volatile ClientCallStreamObserver<WatchRequest> started;

  /** Opens the stream; {@code initial} responses are requested up front (more via request). */
  RawWatch(int port, int initial) {
    // A small fixed window (no BDP auto-tuning), so that a client not reading fills up quickly.
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .usePlaintext()
            .flowControlWindow(64 * 1024)
            .build();
    ClientResponseObserver<WatchRequest, WatchResponse> observer =
        new ClientResponseObserver<>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<WatchRequest> rs) {
            rs.disableAutoRequestWithInitial(initial);
            started = rs;
          }

          @Override
          public void onNext(WatchResponse r) {
            received.add(r);
          }

          @Override
          public void onError(Throwable t) {
            received.add(t);
          }

          @Override
          public void onCompleted() {
            received.add("completed");
          }
        };
    ClientCalls.asyncBidiStreamingCall(
        channel.newCall(WatchGrpc.getWatchMethod(), CallOptions.DEFAULT), observer);
    requests = started;
  }

  static ByteString bs(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  static WatchCreateRequest.Builder create(String key) {
    return WatchCreateRequest.newBuilder().setKey(bs(key));
  }

  void send(WatchCreateRequest.Builder c) {
    requests.onNext(WatchRequest.newBuilder().setCreateRequest(c).build());
  }

  void cancel(long id) {
    requests.onNext(
        WatchRequest.newBuilder()
            .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(id))
            .build());
  }

  void requestProgress() {
    requests.onNext(
        WatchRequest.newBuilder()
            .setProgressRequest(WatchProgressRequest.getDefaultInstance())
            .build());
  }

  /** Lets {@code n} more responses in. */
  void request(int n) {
    requests.request(n);
  }

  /** The next response; fails the test after 10 s or on a stream error. */
  WatchResponse next() throws InterruptedException {
    Object o = received.poll(10, TimeUnit.SECONDS);
    assertThat(o).as("a watch response within 10 s").isInstanceOf(WatchResponse.class);
    return (WatchResponse) o;
  }

  /** The next response if one arrives within {@code ms}, else null. */
  WatchResponse poll(long ms) throws InterruptedException {
    Object o = received.poll(ms, TimeUnit.MILLISECONDS);
    if (o != null) {
      assertThat(o).isInstanceOf(WatchResponse.class);
    }
    return (WatchResponse) o;
  }

  @Override
  public void close() {
    requests.cancel("test done", null);
    channel.shutdownNow();
  }
}
