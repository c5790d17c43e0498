package io.etch.jepsen.cluster;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchGrpc;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.api.mvccpb.Event;
import io.etch.jepsen.checker.WatchChecker;
import io.etch.jepsen.checker.WatchEvent;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A watch on a key prefix through one member, from a start revision, that survives the member's
 * deaths: when the stream breaks it is opened again from the revision after the last event received
 * — etcd's "resumable" guarantee is what makes the result one gap-free stream.
 *
 * <p>Raw gRPC (etch-api's stubs) rather than jetcd: jetcd resumes watches on its own and moves its
 * resume point to the creation response's header revision, which would skip events a slow member
 * has not sent yet; the test must see exactly what the server sent.
 *
 * <p>Callbacks of one stream run one at a time; {@code generation} discards those of a stream
 * already replaced.
 */
final class WatchRecorder implements AutoCloseable {
  final String name;
  final String prefix;
  final long startRevision;
  final List<WatchEvent> events = new CopyOnWriteArrayList<>();
  final Map<String, Integer> errors = new TreeMap<>(); // guarded by itself
  private final ManagedChannel channel;
  private final ScheduledExecutorService reopener;
  private volatile long next;
  private volatile int generation;
  private volatile boolean closed;
  private volatile StreamObserver<WatchRequest> requests;
  private int opens;

  WatchRecorder(String name, int clientPort, String prefix, long startRevision) {
    this.name = name;
    this.prefix = prefix;
    this.startRevision = startRevision;
    this.next = startRevision;
    this.channel =
        NettyChannelBuilder.forAddress("127.0.0.1", clientPort)
            .usePlaintext()
            .maxInboundMessageSize(64 << 20)
            .build();
    this.reopener =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "watch-" + name);
              t.setDaemon(true);
              return t;
            });
    reopener.execute(this::open);
  }

  /** The revision of the last event received, 0 before any. */
  long lastRevision() {
    int n = events.size();
    return n == 0 ? 0 : events.get(n - 1).revision();
  }

  int opens() {
    return opens;
  }

  WatchChecker.Stream stream() {
    return new WatchChecker.Stream(name, prefix, startRevision, List.copyOf(events));
  }

  private void open() {
    if (closed) {
      return;
    }
    opens++;
    int gen = ++generation;
    // A restarted member must be dialled now, not after gRPC's reconnect backoff (up to minutes).
    channel.resetConnectBackoff();
    ByteString key = ByteString.copyFrom(prefix, StandardCharsets.UTF_8);
    byte[] end = key.toByteArray();
    end[end.length - 1]++; // the prefix's range end (the last byte of our prefix is not 0xff)
    StreamObserver<WatchRequest> req =
        WatchGrpc.newStub(channel)
            .watch(
                new StreamObserver<>() {
                  @Override
                  public void onNext(WatchResponse r) {
                    if (gen != generation) {
                      return;
                    }
                    if (r.getCanceled()) {
                      failed(
                          gen,
                          "canceled: "
                              + r.getCancelReason()
                              + " compact "
                              + r.getCompactRevision());
                      return;
                    }
                    long last = 0;
                    for (Event e : r.getEventsList()) {
                      WatchEvent we = convert(e);
                      events.add(we);
                      last = we.revision();
                    }
                    if (last > 0) {
                      next = last + 1;
                    }
                  }

                  @Override
                  public void onError(Throwable t) {
                    failed(gen, EtcdErrors.label(t));
                  }

                  @Override
                  public void onCompleted() {
                    failed(gen, "completed by the server");
                  }
                });
    requests = req;
    req.onNext(
        WatchRequest.newBuilder()
            .setCreateRequest(
                WatchCreateRequest.newBuilder()
                    .setKey(key)
                    .setRangeEnd(ByteString.copyFrom(end))
                    .setStartRevision(next))
            .build());
  }

  private void failed(int gen, String why) {
    if (gen != generation || closed) {
      return;
    }
    generation++; // ignore anything more from this stream
    synchronized (errors) {
      errors.merge(why, 1, Integer::sum);
    }
    StreamObserver<WatchRequest> r = requests;
    try {
      r.onError(new RuntimeException("reopening"));
    } catch (RuntimeException ignored) {
      // already finished
    }
    reopener.schedule(this::open, 200, TimeUnit.MILLISECONDS);
  }

  static WatchEvent convert(Event e) {
    String key = e.getKv().getKey().toStringUtf8();
    long rev = e.getKv().getModRevision();
    return switch (e.getType()) {
      case PUT -> WatchEvent.put(rev, key, e.getKv().getValue().toStringUtf8());
      case DELETE -> WatchEvent.delete(rev, key);
      default -> new WatchEvent(rev, key, WatchEvent.Kind.PUT, "<unrecognized event>");
    };
  }

  Map<String, Integer> errors() {
    synchronized (errors) {
      return new TreeMap<>(errors);
    }
  }

  @Override
  public void close() {
    closed = true;
    reopener.shutdownNow();
    channel.shutdownNow();
  }
}
