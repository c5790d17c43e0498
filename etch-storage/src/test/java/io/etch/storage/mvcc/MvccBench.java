package io.etch.storage.mvcc;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * MVCC benchmarks, run on purpose (not by the test suite). From the repository root:
 *
 * <pre>
 * ./mvnw -B -q -pl etch-storage test-compile exec:exec -Dexec.executable=java \
 *   -Dexec.classpathScope=test \
 *   "-Dexec.args=-Xmx3g -cp %classpath io.etch.storage.mvcc.MvccBench 1000000 /tmp/mvcc-bench"
 * </pre>
 *
 * Phases: load N keys of 256-byte values in batches; overwrite puts; single-key serializable ranges
 * on 1 and 2 threads; a 1,000-key prefix range; bytes on disk vs logical bytes; restart time and
 * RSS in a fresh JVM (the in-memory key index rebuilt); and, for the key-index decision, the same
 * point reads through a persistent (key, revision) index in RocksDB.
 */
public final class MvccBench {
  private static final int VALUE_BYTES = 256;
  private static final int BATCH = 1000;

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("restart")) {
      restart(Path.of(args[1]));
      return;
    }
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    Path root = Path.of(args.length > 1 ? args[1] : "/tmp/mvcc-bench");
    deleteTree(root);
    Path dir = root.resolve("store");
    byte[][] keys = new byte[n][];
    for (int i = 0; i < n; i++) {
      keys[i] = key(i);
    }
    Random rnd = new Random(42);
    long logical = 0;
    try (MvccStore store = MvccStore.open(dir)) {
      long index = 0;
      long t0 = System.nanoTime();
      for (int i = 0; i < n; ) {
        try (ApplyBatch batch = store.newBatch()) {
          for (int j = 0; j < BATCH && i < n; j++, i++) {
            byte[] v = new byte[VALUE_BYTES];
            rnd.nextBytes(v);
            batch.put(PutRequest.of(keys[i], v));
            logical += keys[i].length + VALUE_BYTES;
          }
          batch.setConsistentIndex(++index, 1);
          batch.commit();
        }
      }
      report("put new keys, batches of " + BATCH, n, t0);

      int overwrites = Math.min(n, 300_000);
      t0 = System.nanoTime();
      for (int i = 0; i < overwrites; ) {
        try (ApplyBatch batch = store.newBatch()) {
          for (int j = 0; j < BATCH && i < overwrites; j++, i++) {
            byte[] v = new byte[VALUE_BYTES];
            rnd.nextBytes(v);
            batch.put(PutRequest.of(keys[rnd.nextInt(n)], v));
          }
          batch.setConsistentIndex(++index, 1);
          batch.commit();
        }
      }
      report("put overwrites (event carries prev_kv), batches of " + BATCH, overwrites, t0);
    }
    MvccOptions readOptions =
        MvccOptions.defaults().withEventPrevKv(false).withValueCacheBytes(512L << 20);
    try (MvccStore store = MvccStore.open(dir, readOptions)) {
      long index = store.consistentIndex();
      int overwrites = Math.min(n, 300_000);
      long t0 = System.nanoTime();
      for (int i = 0; i < overwrites; ) {
        try (ApplyBatch batch = store.newBatch()) {
          for (int j = 0; j < BATCH && i < overwrites; j++, i++) {
            byte[] v = new byte[VALUE_BYTES];
            rnd.nextBytes(v);
            batch.put(PutRequest.of(keys[rnd.nextInt(n)], v));
          }
          batch.setConsistentIndex(++index, 1);
          batch.commit();
        }
      }
      report("put overwrites (eventPrevKv off), batches of " + BATCH, overwrites, t0);

      warm(store);
      for (int threads : new int[] {1, 2}) {
        readBench(store, keys, threads, 5);
      }
      warmValueCache(store);
      System.out.println("with every key's latest version in the value cache:");
      for (int threads : new int[] {1, 2}) {
        readBench(store, keys, threads, 5);
      }
      prefixBench(store, 3);

      store.flush();
      System.out.printf(
          "disk: %,d bytes on disk (RocksDB SST+memtables) for %,d logical bytes of live keys+values"
              + " (%,d revisions in history incl. overwrites)%n",
          store.sizeOnDisk(), logical, store.currentRevision());
    }
    long du = duBytes(dir);
    System.out.printf("disk: du of the store directory: %,d bytes%n", du);

    // Restart in a fresh JVM so RSS and heap are the restarted store's own.
    for (int i = 0; i < 2; i++) {
      runChild("restart", dir.toString());
    }
    persistentIndexProbe(root.resolve("persistent-index"), keys);
  }

  static byte[] key(int i) {
    return String.format("key/%08d", i).getBytes(StandardCharsets.US_ASCII);
  }

  static void report(String what, long ops, long t0) {
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf("%s: %,d ops in %.2f s = %,.0f ops/s%n", what, ops, s, ops / s);
  }

  static void readBench(MvccStore store, byte[][] keys, int threads, int seconds)
      throws InterruptedException {
    LongAdder ops = new LongAdder();
    LongAdder cpu = new LongAdder();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread th =
          new Thread(
              () -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                var mx = java.lang.management.ManagementFactory.getThreadMXBean();
                long c0 = mx.getCurrentThreadCpuTime();
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
              });
      th.start();
      ts.add(th);
    }
    long t0 = System.nanoTime();
    for (Thread th : ts) {
      th.join();
    }
    report("single-key range (serializable), " + threads + " thread(s)", ops.sum(), t0);
    System.out.printf(
        "  ... %,.0f ops per CPU-second per thread (the machine is shared: wall figures lag)%n",
        ops.sum() / (cpu.sum() / 1e9));
  }

  /** Reads the whole history once so the block cache holds it, as a running server's would. */
  static void warm(MvccStore store) {
    long t0 = System.nanoTime();
    long n = 0;
    try (RocksIterator it = store.gen().db().newIterator(store.gen().kvCf)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        n++;
      }
    }
    report("warm block cache (scan history)", n, t0);
  }

  /** Reads every key once at the current revision, which fills the value cache. */
  static void warmValueCache(MvccStore store) {
    long t0 = System.nanoTime();
    byte[] from = "key/".getBytes(StandardCharsets.US_ASCII);
    byte[] end = "key0".getBytes(StandardCharsets.US_ASCII);
    long n = 0;
    while (true) {
      RangeResponse r = store.range(RangeRequest.range(from, end).withLimit(10_000));
      n += r.kvs().size();
      if (!r.more()) {
        break;
      }
      byte[] last = r.kvs().get(r.kvs().size() - 1).key();
      from = java.util.Arrays.copyOf(last, last.length + 1); // last key + "\0", as Kubernetes pages
    }
    report("fill value cache (paginated range over all keys)", n, t0);
  }

  static void prefixBench(MvccStore store, int seconds) {
    byte[] from = "key/00012".getBytes(StandardCharsets.US_ASCII);
    byte[] to = "key/00013".getBytes(StandardCharsets.US_ASCII);
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    long t0 = System.nanoTime();
    long ops = 0;
    while (System.nanoTime() < end) {
      RangeResponse r = store.range(RangeRequest.range(from, to));
      if (r.kvs().size() != 1000) {
        throw new AssertionError("prefix range returned " + r.kvs().size());
      }
      ops++;
    }
    report("prefix range of 1,000 keys, 1 thread", ops, t0);
  }

  static void restart(Path dir) {
    long t0 = System.nanoTime();
    try (MvccStore store = MvccStore.open(dir)) {
      double s = (System.nanoTime() - t0) / 1e9;
      System.gc();
      Runtime rt = Runtime.getRuntime();
      long heap = rt.totalMemory() - rt.freeMemory();
      System.out.printf(
          "restart: opened %,d keys at revision %,d in %.2f s; heap used after GC %,d MiB; RSS %s%n",
          store.indexedKeys(), store.currentRevision(), s, heap >> 20, rss());
      probe(store);
    }
  }

  /** Where a point read's time goes: index lookup alone, RocksDB get alone (CPU time). */
  static void probe(MvccStore store) {
    int n = store.indexedKeys();
    var mx = java.lang.management.ManagementFactory.getThreadMXBean();
    ThreadLocalRandom r = ThreadLocalRandom.current();
    byte[][] keys = new byte[n][];
    for (int i = 0; i < n; i++) {
      keys[i] = key(i);
    }
    try {
      System.out.println(store.gen().db().getProperty(store.gen().kvCf, "rocksdb.levelstats"));
      warm(store);
    } catch (org.rocksdb.RocksDBException e) {
      throw new IllegalStateException(e);
    }
    for (int round = 0; round < 2; round++) {
      long c0 = mx.getCurrentThreadCpuTime();
      long sink = 0;
      for (int i = 0; i < 1_000_000; i++) {
        sink += store.gen().lookup(keys[r.nextInt(n)]).entries().n();
      }
      long c1 = mx.getCurrentThreadCpuTime();
      for (int i = 0; i < 1_000_000; i++) {
        KeyIndex.Entries e = store.gen().lookup(keys[r.nextInt(n)]).entries();
        sink += store.gen().readStored(e.main(e.n() - 1), e.sub(e.n() - 1)).version();
      }
      long c2 = mx.getCurrentThreadCpuTime();
      for (int i = 0; i < 1_000_000; i++) {
        sink += store.range(RangeRequest.of(keys[r.nextInt(n)])).count();
      }
      long c3 = mx.getCurrentThreadCpuTime();
      System.out.printf(
          "probe: CPU per op: index get %.0f ns, index+RocksDB get %.0f ns, range() %.0f ns (%d)%n",
          (c1 - c0) / 1e6, (c2 - c1) / 1e6, (c3 - c2) / 1e6, sink & 1);
    }
  }

  /**
   * The alternative key index, measured: a RocksDB column of (key, revision) entries, read with an
   * iterator seek per lookup, then a get of the revision's value, as a persistent index would do
   * for every read at the current revision.
   */
  static void persistentIndexProbe(Path dir, byte[][] keys) throws Exception {
    try (Options o = new Options().setCreateIfMissing(true);
        RocksDB db = RocksDB.open(o, dir.toString());
        WriteOptions wo = new WriteOptions()) {
      for (int i = 0; i < keys.length; ) {
        try (WriteBatch wb = new WriteBatch()) {
          for (int j = 0; j < 10_000 && i < keys.length; j++, i++) {
            byte[] k = new byte[keys[i].length + 8];
            System.arraycopy(keys[i], 0, k, 0, keys[i].length);
            Revision.putLong(k, keys[i].length, i + 1);
            wb.put(k, Revision.toBytes(i + 1, 0, false));
          }
          db.write(wo, wb);
        }
      }
      try (org.rocksdb.FlushOptions fo = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
        db.flush(fo);
      }
      long end = System.nanoTime() + 5_000_000_000L;
      long t0 = System.nanoTime();
      long ops = 0;
      ThreadLocalRandom r = ThreadLocalRandom.current();
      try (ReadOptions ro = new ReadOptions();
          RocksIterator it = db.newIterator(ro)) {
        while (System.nanoTime() < end) {
          byte[] key = keys[r.nextInt(keys.length)];
          byte[] probe = new byte[key.length + 8];
          System.arraycopy(key, 0, probe, 0, key.length);
          Revision.putLong(probe, key.length, Long.MAX_VALUE);
          it.seekForPrev(probe);
          if (!it.isValid()) {
            throw new AssertionError("missing key");
          }
          byte[] rev = it.value();
          if (db.get(rev) == null && rev.length == 0) {
            throw new AssertionError();
          }
          ops++;
        }
      }
      report("persistent index probe: seek (key,rev) + get, 1 thread", ops, t0);
    }
    long t0 = System.nanoTime();
    try (Options o = new Options();
        RocksDB db = RocksDB.open(o, dir.toString())) {
      System.out.printf(
          "persistent index probe: reopen in %.3f s (no rebuild)%n",
          (System.nanoTime() - t0) / 1e9);
    }
  }

  static String rss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS")) {
          return line.substring(6).trim();
        }
      }
    } catch (Exception e) {
      return "unknown";
    }
    return "unknown";
  }

  static void runChild(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx3g");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(MvccBench.class.getName());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("child failed: " + cmd);
    }
  }

  static long duBytes(Path dir) throws Exception {
    try (var files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
  }

  static void deleteTree(Path root) throws Exception {
    if (!Files.exists(root)) {
      return;
    }
    try (var files = Files.walk(root)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  static {
    RocksDB.loadLibrary();
  }
}
