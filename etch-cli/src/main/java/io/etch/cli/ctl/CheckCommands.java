package io.etch.cli.ctl;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.etcdserverpb.DefragmentRequest;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.DeleteRangeResponse;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.cli.Etchctl;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** etcdctl 3.4's {@code check perf}: a paced write load under a prefix, judged PASS or FAIL. */
final class CheckCommands {
  private CheckCommands() {}

  /** How long the load runs instead of the model's 60 s (for tests); not an etcdctl variable. */
  static final String SECONDS_ENV = "ETCHCTL_CHECK_PERF_SECONDS";

  @Command(
      name = "check",
      description = "commands for checking properties of the etcd cluster",
      subcommands = {Perf.class})
  static final class Check {}

  /** A workload model: writes per second over all clients, concurrent clients, seconds. */
  record Load(int limit, int clients, int duration) {}

  static final Map<String, Load> LOADS =
      Map.of(
          "s", new Load(150, 50, 60),
          "m", new Load(1000, 200, 60),
          "l", new Load(8000, 500, 60),
          "xl", new Load(15000, 1000, 60));

  static final Map<String, String> ALIASES =
      Map.of(
          "s", "s", "small", "s", "m", "m", "medium", "m", "l", "l", "large", "l", "xl", "xl",
          "xLarge", "xl");

  @Command(name = "perf", description = "Check the performance of the etcd cluster")
  static final class Perf extends CtlCommand {
    @Option(
        names = "--load",
        defaultValue = "s",
        description =
            "The performance check's workload model. Accepted workloads: s(small), m(medium),"
                + " l(large), xl(xLarge)")
    String load;

    @Option(
        names = "--prefix",
        defaultValue = "/etcdctl-check-perf/",
        description = "The prefix for writing the performance check's keys.")
    String prefix;

    @Option(
        names = "--auto-compact",
        arity = "0..1",
        fallbackValue = "true",
        description = "Compact storage with last revision after test is finished.")
    boolean autoCompact;

    @Option(
        names = "--auto-defrag",
        arity = "0..1",
        fallbackValue = "true",
        description = "Defragment storage after test is finished.")
    boolean autoDefrag;

    @Override
    int run() throws Exception {
      String model = ALIASES.get(load);
      if (model == null) {
        throw new CtlException(CtlException.EXIT_BAD_FEATURE, "unknown load option " + load);
      }
      Load cfg = LOADS.get(model);
      int seconds = cfg.duration();
      String override = ((Etchctl) spec.root().userObject()).env().get(SECONDS_ENV);
      if (override != null && !override.isEmpty()) {
        try {
          seconds = Integer.parseInt(override);
        } catch (NumberFormatException e) {
          throw badArgs(SECONDS_ENV + " must be a whole number of seconds: " + override);
        }
      }
      String endpoint = s.endpoints().get(0);
      // etcdctl makes one client (one connection) per concurrent writer.
      List<Client> clients = new ArrayList<>();
      clients.add(client());
      for (int i = 1; i < cfg.clients(); i++) {
        clients.add(connect(endpoint));
      }
      ByteString pfx = KvCommands.bytes(prefix);
      ByteString end = KvCommands.prefixEnd(pfx);
      try {
        if (clients
                .get(0)
                .kv()
                .range(RangeRequest.newBuilder().setKey(pfx).setRangeEnd(end).setLimit(1).build())
                .getKvsCount()
            > 0) {
          throw new CtlException(
              CtlException.EXIT_INVALID_INPUT,
              "prefix "
                  + Go.quote(pfx)
                  + " has keys. Delete with etcdctl del --prefix "
                  + prefix
                  + " first");
        }
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }

      Stats stats = load(clients, pfx, cfg, seconds);

      cleanup(clients.get(0), pfx, end);
      if (autoDefrag) {
        for (String ep : s.endpoints()) {
          out.printf("Defragmenting %s%n", Go.quote(KvCommands.bytes(ep)));
          try {
            (ep.equals(endpoint) ? clients.get(0) : connect(ep))
                .maintenance()
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .defragment(DefragmentRequest.getDefaultInstance());
          } catch (StatusRuntimeException e) {
            throw Client.error(e);
          }
          out.printf("Defragmented %s%n", Go.quote(KvCommands.bytes(ep)));
        }
      }
      return verdict(stats, cfg);
    }

    /** Writes at the model's rate from its clients until the time is up; waits for the last. */
    private Stats load(List<Client> clients, ByteString pfx, Load cfg, int seconds)
        throws InterruptedException {
      ByteString value = ByteString.copyFrom(new byte[1024]);
      BlockingQueue<PutRequest> requests = new ArrayBlockingQueue<>(cfg.clients());
      PutRequest done = PutRequest.getDefaultInstance();
      Stats stats = new Stats();
      List<Thread> workers = new ArrayList<>();
      // Each client connects (and warms its code path) with one read of the prefix before the
      // clock starts, so a connection's setup is not counted as a slow write; Go's etcdctl has
      // its clients dialled before it starts, too.
      RangeRequest probe =
          RangeRequest.newBuilder()
              .setKey(pfx)
              .setRangeEnd(KvCommands.prefixEnd(pfx))
              .setLimit(1)
              .setCountOnly(true)
              .build();
      CountDownLatch ready = new CountDownLatch(clients.size());
      for (Client c : clients) {
        Thread t =
            new Thread(
                () -> {
                  try {
                    try {
                      c.kv().range(probe);
                    } catch (StatusRuntimeException e) {
                      // a failing member shows up in the writes' errors
                    }
                    ready.countDown();
                    for (PutRequest r = requests.take(); r != done; r = requests.take()) {
                      long st = System.nanoTime();
                      try {
                        c.kv().put(r);
                        stats.ok(System.nanoTime() - st);
                      } catch (StatusRuntimeException e) {
                        stats.failed(Client.message(e));
                      }
                    }
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                },
                "check-perf");
        t.setDaemon(true);
        t.start();
        workers.add(t);
      }
      ready.await();
      Thread bar = progressBar(seconds);
      long start = System.nanoTime();
      long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
      long interval = 1_000_000_000L / cfg.limit();
      long next = start;
      byte[] key = new byte[256];
      try {
        while (true) {
          long now = System.nanoTime();
          // Like a rate limiter of burst 1: no catch-up after a stall, no wait past the deadline.
          long slot = Math.max(next, now);
          if (slot >= deadline) {
            break;
          }
          if (slot > now) {
            LockSupport.parkNanos(slot - now);
          }
          next = slot + interval;
          putVarint(key, ThreadLocalRandom.current().nextLong(Long.MAX_VALUE));
          requests.put(
              PutRequest.newBuilder()
                  .setKey(pfx.concat(ByteString.copyFrom(key)))
                  .setValue(value)
                  .build());
        }
      } finally {
        for (int i = 0; i < workers.size(); i++) {
          requests.put(done);
        }
        for (Thread t : workers) {
          t.join();
        }
      }
      stats.elapsedNanos = System.nanoTime() - start;
      bar.join();
      return stats;
    }

    /** etcdctl's progress over the run's seconds, redrawn in place on stdout (as etcdctl does). */
    private Thread progressBar(int seconds) {
      Thread t =
          new Thread(
              () -> {
                long start = System.nanoTime();
                for (int i = 0; i <= seconds; i++) {
                  long due = start + TimeUnit.SECONDS.toNanos(i);
                  long wait = due - System.nanoTime();
                  if (wait > 0) {
                    LockSupport.parkNanos(wait);
                  }
                  synchronized (out) {
                    out.printf(
                        Locale.ROOT,
                        "\r %d / %d %8.2f%% %02dm%02ds",
                        i,
                        seconds,
                        seconds == 0 ? 100.0 : 100.0 * i / seconds,
                        (seconds - i) / 60,
                        (seconds - i) % 60);
                    out.flush();
                  }
                }
                synchronized (out) {
                  out.println();
                }
              },
              "check-perf-bar");
      t.setDaemon(true);
      t.start();
      return t;
    }

    private void cleanup(Client c, ByteString pfx, ByteString end) {
      DeleteRangeResponse r;
      try {
        r =
            c.kv()
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .deleteRange(DeleteRangeRequest.newBuilder().setKey(pfx).setRangeEnd(end).build());
      } catch (StatusRuntimeException e) {
        out.printf("FAIL: Cleanup failed during key deletion: ERROR(%s)%n", Client.message(e));
        return;
      }
      if (autoCompact) {
        long rev = r.getHeader().getRevision();
        out.printf("Compacting with revision %d%n", rev);
        try {
          c.kv()
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .compact(CompactionRequest.newBuilder().setRevision(rev).setPhysical(true).build());
        } catch (StatusRuntimeException e) {
          throw Client.error(e);
        }
        out.printf("Compacted with revision %d%n", rev);
      }
    }

    /** etcdctl's judgement: no errors, 90% of the rate, slowest ≤ 0.5 s, stddev ≤ 0.1 s. */
    private int verdict(Stats st, Load cfg) {
      boolean ok = true;
      if (!st.errors.isEmpty()) {
        out.println("FAIL: too many errors");
        st.errors.forEach((k, v) -> out.printf("FAIL: ERROR(%s) -> %d%n", k, v));
        ok = false;
      }
      double rps = st.elapsedNanos == 0 ? 0 : st.count / (st.elapsedNanos / 1e9);
      if (rps / cfg.limit() <= 0.9) {
        out.printf("FAIL: Throughput too low: %d writes/s%n", (int) rps + 1);
        ok = false;
      } else {
        out.printf("PASS: Throughput is %d writes/s%n", (int) rps + 1);
      }
      double slowest = st.max / 1e9;
      // etcdctl 3.4 words these two failures without the FAIL: tag.
      if (slowest > 0.5) {
        out.printf(Locale.ROOT, "Slowest request took too long: %fs%n", slowest);
        ok = false;
      } else {
        out.printf(Locale.ROOT, "PASS: Slowest request took %fs%n", slowest);
      }
      double stddev = st.stddevSeconds();
      if (stddev > 0.1) {
        out.printf(Locale.ROOT, "Stddev too high: %fs%n", stddev);
        ok = false;
      } else {
        out.printf(Locale.ROOT, "PASS: Stddev is %fs%n", stddev);
      }
      out.println(ok ? "PASS" : "FAIL");
      return ok ? 0 : CtlException.EXIT_ERROR;
    }
  }

  /** Go's binary.PutVarint: the zig-zag varint of v at the start of buf. */
  static int putVarint(byte[] buf, long v) {
    long u = (v << 1) ^ (v >> 63);
    int i = 0;
    while ((u & ~0x7FL) != 0) {
      buf[i++] = (byte) ((u & 0x7F) | 0x80);
      u >>>= 7;
    }
    buf[i++] = (byte) u;
    return i;
  }

  /** Latencies of successful writes (count, max, mean and spread by Welford) and failures. */
  static final class Stats {
    long count;
    long max;
    double mean;
    double m2;
    long elapsedNanos;
    final Map<String, Long> errors = new LinkedHashMap<>();

    synchronized void ok(long nanos) {
      count++;
      max = Math.max(max, nanos);
      double d = nanos - mean;
      mean += d / count;
      m2 += d * (nanos - mean);
    }

    synchronized void failed(String message) {
      errors.merge(message, 1L, Long::sum);
    }

    /** The population standard deviation, as etcd's report computes it. */
    synchronized double stddevSeconds() {
      return count == 0 ? 0 : Math.sqrt(m2 / count) / 1e9;
    }
  }
}
