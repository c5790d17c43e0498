package io.etch.storage.wal;

import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.SnapshotMetadata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

/**
 * Durable append throughput with group commit: writers each append one 256-byte entry and wait for
 * its fsync, in a loop, on the disk under {@code -Dbench.dir} (default: target/). Reports
 * entries/s, fsyncs/s and entries per fsync for 1, 16 and 256 writers. A main class, not a test:
 * run it with {@code ./mvnw -B -pl etch-storage -Pbench test-compile exec:java}. Options: {@code
 * -Dbench.writers=1,16,256 -Dbench.warmupSeconds=2 -Dbench.seconds=5}.
 */
public final class WalBenchmark {
  public static void main(String[] args) throws Exception {
    int[] writerCounts =
        java.util.Arrays.stream(System.getProperty("bench.writers", "1,16,256").split(","))
            .mapToInt(Integer::parseInt)
            .toArray();
    double warmup = Double.parseDouble(System.getProperty("bench.warmupSeconds", "2"));
    double seconds = Double.parseDouble(System.getProperty("bench.seconds", "5"));
    Path base = Path.of(System.getProperty("bench.dir", "target"));
    System.out.printf(
        "WAL group commit, 256-byte entries, 64 MiB segments, dir %s, %s s measured%n",
        base.toAbsolutePath(), seconds);
    System.out.printf(
        "%8s %14s %12s %16s %14s%n",
        "writers", "entries/s", "fsyncs/s", "entries/fsync", "mean lat ms");
    for (int writers : writerCounts) {
      Path dir = Files.createTempDirectory(Files.createDirectories(base), "wal-bench-");
      try {
        run(dir.resolve("wal"), writers, warmup, seconds);
      } finally {
        deleteTree(dir);
      }
    }
  }

  private static void run(Path dir, int writers, double warmup, double seconds) throws Exception {
    SnapshotMetadata boot = new SnapshotMetadata(ConfState.ofVoters(1L), 0, 0);
    byte[] payload = new byte[256];
    try (Wal wal = Wal.create(dir, new byte[] {1}, boot, Wal.Options.DEFAULT)) {
      Object order = new Object();
      long[] next = {1};
      LongAdder acked = new LongAdder();
      LongAdder latencyNanos = new LongAdder();
      final StopFlag stop = new StopFlag();
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < writers; t++) {
        Thread th =
            new Thread(
                () -> {
                  while (!stop.stop) {
                    long start = System.nanoTime();
                    CompletableFuture<Void> f;
                    synchronized (order) { // raft indices reach the WAL in order
                      f = wal.appendAsync(null, List.of(Entry.normal(1, next[0]++, payload)));
                    }
                    f.join();
                    acked.increment();
                    latencyNanos.add(System.nanoTime() - start);
                  }
                });
        th.setDaemon(true);
        threads.add(th);
        th.start();
      }
      Thread.sleep((long) (warmup * 1000));
      long a0 = acked.sum();
      long l0 = latencyNanos.sum();
      long f0 = wal.fsyncs();
      long t0 = System.nanoTime();
      Thread.sleep((long) (seconds * 1000));
      long a1 = acked.sum();
      long l1 = latencyNanos.sum();
      long f1 = wal.fsyncs();
      double elapsed = (System.nanoTime() - t0) / 1e9;
      stop.stop = true;
      for (Thread th : threads) {
        th.join();
      }
      double entries = (a1 - a0) / elapsed;
      double fsyncs = (f1 - f0) / elapsed;
      System.out.printf(
          "%8d %14.0f %12.0f %16.1f %14.2f%n",
          writers,
          entries,
          fsyncs,
          (a1 - a0) / (double) Math.max(1, f1 - f0),
          (l1 - l0) / 1e6 / Math.max(1, a1 - a0));
    }
  }

  private static final class StopFlag {
    volatile boolean stop;
  }

  private static void deleteTree(Path dir) throws java.io.IOException {
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private WalBenchmark() {}
}
