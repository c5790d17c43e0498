package io.etch.cli.bench;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchGrpc;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.api.mvccpb.Event;
import io.grpc.stub.StreamObserver;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAccumulator;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench watch}: event delivery latency (etcd's {@code benchmark watch-latency}). Opens
 * {@code --streams} watch streams over the connections with {@code --watchers-per-stream} watchers
 * each, all on one key; then one client puts that key {@code --total} times, one put at a time, at
 * most {@code --put-rate} per second. An event's latency is the time from the start of the put that
 * made it to its arrival at a watcher; every watcher must see every put.
 */
@Command(
    name = "watch",
    aliases = "watch-latency",
    mixinStandardHelpOptions = true,
    description =
        "Benchmark watch event latency: W watchers on one key, --total puts to it;"
            + " reports put latency and event delivery latency.")
final class WatchCommand extends Workload {
  @Option(
      names = "--streams",
      defaultValue = "10",
      description = "Watch streams, spread over the connections (default: ${DEFAULT-VALUE}).")
  int streams;

  @Option(
      names = "--watchers-per-stream",
      defaultValue = "10",
      description = "Watchers on each stream (default: ${DEFAULT-VALUE}).")
  int watchersPerStream;

  @Option(
      names = "--put-rate",
      defaultValue = "100",
      description = "Puts per second; 0 is unlimited (default: ${DEFAULT-VALUE}).")
  double putRate;

  @Option(names = "--prevkv", description = "Watch with prev_kv.")
  boolean prevKv;

  @Option(
      names = "--event-timeout",
      defaultValue = "10",
      description = "Seconds to wait for the last events after the last put (default: 10).")
  int eventTimeoutSeconds;

  @Override
  void validate() {
    BenchOptions.require(streams >= 1, "--streams must be at least 1");
    BenchOptions.require(watchersPerStream >= 1, "--watchers-per-stream must be at least 1");
    BenchOptions.require(putRate >= 0, "--put-rate must not be negative");
    BenchOptions.require(opts.total <= Integer.MAX_VALUE, "--total is too large for watch");
  }

  @Override
  void describe(Map<String, Object> params) {
    params.put("streams", streams);
    params.put("watchers_per_stream", watchersPerStream);
    params.put("put_rate", putRate);
    params.put("prevkv", prevKv);
  }

  @Override
  List<Result> measure(Connections conns, PrintWriter progress) throws Exception {
    int puts = (int) opts.total;
    long watchers = (long) streams * watchersPerStream;
    ByteString key = new Keys(opts.keySize, 1).key(0);
    AtomicLongArray putStart = new AtomicLongArray(puts);
    Recorder eventLatency = new Recorder(3);
    Errors errors = new Errors();
    AtomicLong eventsLeft = new AtomicLong(watchers * puts);
    AtomicLong firstPut = new AtomicLong();
    LongAccumulator lastEvent = new LongAccumulator(Math::max, Long.MIN_VALUE);
    CountDownLatch created = new CountDownLatch((int) watchers);
    CountDownLatch allEvents = new CountDownLatch(1);
    AtomicBoolean streamFailed = new AtomicBoolean();

    List<StreamObserver<WatchRequest>> requests = new ArrayList<>();
    for (int s = 0; s < streams; s++) {
      // Confined to the stream's event loop: watch id → events seen so far.
      Map<Long, int[]> seen = new HashMap<>();
      int[] pendingCreates = {watchersPerStream};
      StreamObserver<WatchResponse> responses =
          new StreamObserver<>() {
            @Override
            public void onNext(WatchResponse r) {
              if (r.getCreated()) {
                seen.put(r.getWatchId(), new int[1]);
                pendingCreates[0]--;
                created.countDown();
              }
              if (r.getCanceled()) {
                errors.add("watch canceled: " + r.getCancelReason(), 1);
              }
              int[] n = seen.get(r.getWatchId());
              for (Event e : r.getEventsList()) {
                long now = System.nanoTime();
                int k = n == null ? puts : n[0]++;
                if (k >= puts) {
                  errors.add("unexpected event (not from this run's puts)", 1);
                  continue;
                }
                eventLatency.recordValue(now - putStart.get(k));
                lastEvent.accumulate(now);
                if (eventsLeft.decrementAndGet() == 0) {
                  allEvents.countDown();
                }
              }
            }

            @Override
            public void onError(Throwable t) {
              errors.add(t);
              streamFailed.set(true);
              for (; pendingCreates[0] > 0; pendingCreates[0]--) {
                created.countDown();
              }
              allEvents.countDown();
            }

            @Override
            public void onCompleted() {}
          };
      Connections.Conn conn = conns.get(s);
      StreamObserver<WatchRequest> req = WatchGrpc.newStub(conn.channel()).watch(responses);
      requests.add(req);
      conn.loop()
          .execute(
              () -> {
                for (int w = 0; w < watchersPerStream; w++) {
                  req.onNext(
                      WatchRequest.newBuilder()
                          .setCreateRequest(
                              WatchCreateRequest.newBuilder().setKey(key).setPrevKv(prevKv))
                          .build());
                }
              });
    }
    try {
      if (!created.await(opts.dialTimeoutSeconds, TimeUnit.SECONDS)) {
        errors.add("watch not created within --dial-timeout", created.getCount());
        streamFailed.set(true);
      }
      if (streamFailed.get()) {
        return List.of(
            new Result("watch events", watchers * puts, new Histogram(3), errors.snapshot(), 0));
      }
      progress.printf(
          Locale.ROOT,
          "%d watchers on %d streams created; putting %d times%n",
          watchers,
          streams,
          puts);
      progress.flush();

      Operation put =
          channel -> {
            KVGrpc.KVStub stub = KVGrpc.newStub(channel);
            ByteString value = Values.random(opts.valSize);
            return (seq, done) -> {
              long now = System.nanoTime();
              putStart.set((int) seq, now);
              firstPut.compareAndSet(0, now);
              stub.put(
                  PutRequest.newBuilder().setKey(key).setValue(value).build(),
                  Operation.observer(done));
            };
          };
      Result putResult = new ClosedLoop(conns, 1, puts, putRate).run("put", put);
      // A failed put makes no event: do not wait for the events it would have made.
      long missingByPuts = putResult.failed() * watchers;
      if (missingByPuts > 0 && eventsLeft.addAndGet(-missingByPuts) <= 0) {
        allEvents.countDown();
      }
      allEvents.await(eventTimeoutSeconds, TimeUnit.SECONDS);
      long missing = eventsLeft.get();
      if (missing > 0) {
        errors.add("events not delivered within --event-timeout", missing);
      }
      long elapsed = Math.max(0, lastEvent.get() - firstPut.get());
      Result events =
          new Result(
              "watch events",
              watchers * (puts - putResult.failed()),
              eventLatency.getIntervalHistogram(),
              errors.snapshot(),
              elapsed);
      return List.of(events, putResult);
    } finally {
      for (int s = 0; s < requests.size(); s++) {
        StreamObserver<WatchRequest> req = requests.get(s);
        conns.get(s).loop().execute(req::onCompleted);
      }
    }
  }
}
