package io.etch.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.LeaseKeepAliveRequest;
import io.etch.api.etcdserverpb.LeaseKeepAliveResponse;
import io.etch.server.maintenance.TestServer;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A streamed reply whose messages come from one thread and whose end comes from another, as
 * LeaseService answers keep-alives from its response executor and may end the stream on the
 * gateway's own event loop at half-close: the HTTP response must still carry the head, every line
 * and the last chunk, in that order.
 */
class HttpGatewayStreamThreadsTest {
  private HttpGateway gateway;
  private Server server;

  /**
   * Answers each keep-alive from a thread of its own, finished before the gateway goes on to
   * half-close, and ends the stream on the half-closing thread (the gateway's event loop).
   */
  static final class AnswersElsewhere extends LeaseGrpc.LeaseImplBase {
    @Override
    public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(
        StreamObserver<LeaseKeepAliveResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(LeaseKeepAliveRequest req) {
          Thread t =
              new Thread(
                  () ->
                      out.onNext(
                          LeaseKeepAliveResponse.newBuilder()
                              .setID(req.getID())
                              .setTTL(5)
                              .build()));
          t.start();
          try {
            t.join(10_000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          assertThat(t.isAlive()).as("the answering thread is done").isFalse();
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          out.onCompleted();
        }
      };
    }
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void streamAnsweredOnAnotherThreadAndEndedOnTheEventLoopEnds() throws Exception {
    gateway = HttpGateway.start(List.of(new AnswersElsewhere()), List.of(), 1 << 20);
    int port = TestServer.freePort();
    server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", port), PortSharing.plaintext(gateway))
            .build()
            .start();
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    for (int i = 1; i <= 5; i++) {
      HttpRequest req =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v3/lease/keepalive"))
              .timeout(Duration.ofSeconds(10))
              .POST(HttpRequest.BodyPublishers.ofString("{\"ID\":\"" + i + "\"}"))
              .build();
      // the request's timeout ends with the head: a response that never ends hangs send()
      HttpResponse<String> r =
          http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).get(10, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("{\"result\":{\"ID\":\"" + i + "\",\"TTL\":\"5\"}}\n");
    }
  }
}
