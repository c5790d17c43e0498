package io.etch.storage.mvcc;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * A before/after benchmark that uses only MvccStore's public API, so the same source compiles
 * against an older build of the module and both run side by side in one session on a shared machine
 * (run each phase alternately with the two class paths; compare ratios, not absolutes).
 *
 * <pre>
 * java -Xmx3g -cp CLASSES:DEPS io.etch.storage.mvcc.MvccCompareBench load DIR N
 * java -Xmx3g -cp CLASSES:DEPS io.etch.storage.mvcc.MvccCompareBench reads DIR N SECONDS
 * java -Xmx3g -cp CLASSES:DEPS io.etch.storage.mvcc.MvccCompareBench restart DIR
 * </pre>
 *
 * {@code load}: N new keys of 256-byte values in batches of 1,000, then N/3 overwrites (events with
 * prev_kv). {@code reads}: every key read once (fills the value cache), then single-key
 * serializable ranges on 1 and 2 threads. {@code restart}: open (index rebuild) and close.
 */
public final class MvccCompareBench {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    switch (args[0]) {
      case "load" -> load(dir, Integer.parseInt(args[2]));
      case "reads" -> reads(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
      case "restart" -> restart(dir);
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  static byte[] key(int i) {
    return String.format("key/%08d", i).getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Random (incompressible) 256-byte values, copied out of a pre-filled pool: generating them with
   * {@code Random.nextBytes} cost as much CPU as the store's own put path, which hid what the store
   * does.
   */
  static final class Values {
    private final byte[] pool = new byte[64 << 20];
    private final java.util.SplittableRandom rnd = new java.util.SplittableRandom(42);

    Values() {
      new Random(7).nextBytes(pool);
    }

    byte[] next() {
      int off = rnd.nextInt(pool.length - 256);
      return java.util.Arrays.copyOfRange(pool, off, off + 256);
    }

    int nextInt(int bound) {
      return rnd.nextInt(bound);
    }
  }

  static void load(Path dir, int n) {
    Values rnd = new Values();
    byte[][] keys = new byte[n][];
    for (int i = 0; i < n; i++) {
      keys[i] = key(i);
    }
    try (MvccStore store = MvccStore.open(dir)) {
      long index = store.consistentIndex();
      for (int phase = 0; phase < 2; phase++) {
        int ops = phase == 0 ? n : n / 3;
        var mx =
            (com.sun.management.ThreadMXBean)
                java.lang.management.ManagementFactory.getThreadMXBean();
        long c0 = mx.getCurrentThreadCpuTime();
        long a0 = mx.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; ) {
          try (ApplyBatch batch = store.newBatch()) {
            for (int j = 0; j < 1000 && i < ops; j++, i++) {
              byte[] v = rnd.next();
              batch.put(PutRequest.of(phase == 0 ? keys[i] : keys[rnd.nextInt(n)], v));
            }
            batch.setConsistentIndex(++index, 1);
            batch.commit();
          }
        }
        report(phase == 0 ? "put new keys" : "put overwrites", ops, t0);
        System.out.printf(
            "  ... apply thread: %,.0f puts per CPU-second; %d bytes allocated per put (the"
                + " benchmark's random 256-byte value included)%n",
            ops / ((mx.getCurrentThreadCpuTime() - c0) / 1e9),
            (mx.getCurrentThreadAllocatedBytes() - a0) / ops);
      }
    }
  }

  static void reads(Path dir, int n, int seconds) throws Exception {
    byte[][] keys = new byte[n][];
    for (int i = 0; i < n; i++) {
      keys[i] = key(i);
    }
    try (MvccStore store = MvccStore.open(dir)) {
      long t0 = System.nanoTime();
      for (byte[] k : keys) {
        store.range(RangeRequest.of(k));
      }
      report("first read of every key (fills the value cache)", n, t0);
      for (int threads : new int[] {1, 2, 1, 2}) {
        readBench(store, keys, threads, seconds);
      }
    }
  }

  static void readBench(MvccStore store, byte[][] keys, int threads, int seconds)
      throws InterruptedException {
    LongAdder ops = new LongAdder();
    LongAdder cpu = new LongAdder();
    LongAdder allocated = new LongAdder();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread th =
          new Thread(
              () -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                var mx =
                    (com.sun.management.ThreadMXBean)
                        java.lang.management.ManagementFactory.getThreadMXBean();
                long c0 = mx.getCurrentThreadCpuTime();
                long a0 = mx.getCurrentThreadAllocatedBytes();
                long local = 0;
                while ((local & 1023) != 0 || System.nanoTime() < end) {
                  RangeResponse resp = store.range(RangeRequest.of(keys[r.nextInt(keys.length)]));
                  if (resp.kvs().size() != 1) {
                    throw new AssertionError("missing key");
                  }
                  local++;
                }
                ops.add(local);
                cpu.add(mx.getCurrentThreadCpuTime() - c0);
                allocated.add(mx.getCurrentThreadAllocatedBytes() - a0);
              });
      th.start();
      ts.add(th);
    }
    long t0 = System.nanoTime();
    for (Thread th : ts) {
      th.join();
    }
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf(
        "single-key range, %d thread(s): %,.0f ops/s wall; %,.0f ops per CPU-second per thread;"
            + " %d bytes allocated per op%n",
        threads, ops.sum() / s, ops.sum() / (cpu.sum() / 1e9), allocated.sum() / ops.sum());
  }

  static void restart(Path dir) {
    long t0 = System.nanoTime();
    try (MvccStore store = MvccStore.open(dir)) {
      double s = (System.nanoTime() - t0) / 1e9;
      var mx = java.lang.management.ManagementFactory.getThreadMXBean();
      System.out.printf(
          "restart: %,d keys at revision %,d in %.2f s (process CPU so far %.1f s)%n",
          store.indexedKeys(),
          store.currentRevision(),
          s,
          java.lang.management.ManagementFactory.getPlatformMXBean(
                      com.sun.management.OperatingSystemMXBean.class)
                  .getProcessCpuTime()
              / 1e9);
    }
  }

  static void report(String what, long ops, long t0) {
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf("%s: %,d in %.2f s = %,.0f ops/s%n", what, ops, s, ops / s);
  }
}
