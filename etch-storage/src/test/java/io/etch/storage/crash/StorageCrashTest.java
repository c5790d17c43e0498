package io.etch.storage.crash;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.HardState;
import io.etch.storage.mvcc.ApplyBatch;
import io.etch.storage.mvcc.KeyValue;
import io.etch.storage.mvcc.MvccStore;
import io.etch.storage.mvcc.PutRequest;
import io.etch.storage.mvcc.RangeRequest;
import io.etch.storage.mvcc.RangeResponse;
import io.etch.storage.wal.WalStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durability contract of a member's storage under {@code kill -9}: a child JVM appends raft
 * entries to the WAL (each acknowledged on stdout only after its fsync returned) and applies them
 * to the MVCC store (not fsynced, consistent index in the same batch), as the server's raft loop
 * and apply thread do. The parent kills it with SIGKILL at random moments, over and over. After
 * each kill: every acknowledged entry is in the WAL with its content; the MVCC store's consistent
 * index is never past the WAL; replaying the WAL past the consistent index makes the MVCC store
 * equal to a reference model of every entry in the log.
 *
 * <p>Rounds: {@code -Detch.crash.rounds=N} (default 50).
 */
class StorageCrashTest {
  private static final int KEYS = 50;

  /** Entry i deterministically puts key k(i mod KEYS) = "v" + i. */
  static byte[] payload(long i) {
    return ("k" + (i % KEYS) + "=v" + i).getBytes(StandardCharsets.UTF_8);
  }

  static byte[] key(long i) {
    return ("k" + (i % KEYS)).getBytes(StandardCharsets.UTF_8);
  }

  static byte[] value(long i) {
    return ("v" + i).getBytes(StandardCharsets.UTF_8);
  }

  /** Child process: append+apply forever, acknowledging each index after its fsync. */
  public static void main(String[] args) throws Exception {
    Path walDir = Path.of(args[0]);
    Path dbDir = Path.of(args[1]);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    WalStorage wal =
        WalStorage.exists(walDir)
            ? WalStorage.open(walDir, WalStorage.Options.DEFAULT)
            : WalStorage.create(
                walDir, new byte[] {1}, ConfState.ofVoters(1L), WalStorage.Options.DEFAULT);
    MvccStore store = MvccStore.open(dbDir);
    long next = wal.lastIndex() + 1;
    // Catch the store up first, exactly as the server does at start.
    replay(wal, store);
    Random r = new Random();
    while (true) {
      int n = 1 + r.nextInt(8);
      List<Entry> ents = new ArrayList<>(n);
      for (int j = 0; j < n; j++) {
        long i = next + j;
        ents.add(Entry.normal(1, i, payload(i)));
      }
      long last = next + n - 1;
      wal.save(new HardState(1, 1, last), ents, true);
      out.println("ACK " + last);
      try (ApplyBatch b = store.newBatch()) {
        for (Entry e : ents) {
          b.put(PutRequest.of(key(e.index()), value(e.index())));
        }
        b.setConsistentIndex(last, 1);
        b.commit();
      }
      next = last + 1;
    }
  }

  /** Applies WAL entries past the store's consistent index (the server's startup replay). */
  static void replay(WalStorage wal, MvccStore store) {
    long from = Math.max(store.consistentIndex() + 1, wal.firstIndex());
    long last = wal.lastIndex();
    while (from <= last) {
      List<Entry> ents = wal.entries(from, last + 1, 1 << 20);
      try (ApplyBatch b = store.newBatch()) {
        for (Entry e : ents) {
          b.put(PutRequest.of(key(e.index()), value(e.index())));
        }
        b.setConsistentIndex(ents.get(ents.size() - 1).index(), 1);
        b.commit();
      }
      from = ents.get(ents.size() - 1).index() + 1;
    }
  }

  @Test
  void acknowledgedEntriesSurviveSigkillAndTheStoreCatchesUpExactly(@TempDir Path dir)
      throws Exception {
    int rounds = Integer.getInteger("etch.crash.rounds", 50);
    Path walDir = dir.resolve("wal");
    Path dbDir = dir.resolve("db");
    Random random = new Random(Long.getLong("etch.crash.seed", System.nanoTime()));
    long totalAcked = 0;
    long emptyRevision;
    try (MvccStore empty = MvccStore.open(dir.resolve("empty"))) {
      emptyRevision = empty.currentRevision();
    }
    for (int round = 0; round < rounds; round++) {
      AtomicLong acked = new AtomicLong();
      Process child =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  StorageCrashTest.class.getName(),
                  walDir.toString(),
                  dbDir.toString())
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader in =
                    new BufferedReader(
                        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = in.readLine()) != null) {
                    if (line.startsWith("ACK ")) {
                      acked.set(Long.parseLong(line.substring(4)));
                    }
                  }
                } catch (Exception e) {
                  // the child died mid-line: what was read is what was acknowledged
                }
              });
      reader.start();
      // Wait for the child to make progress, then kill it at a random moment.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (acked.get() <= totalAcked && System.nanoTime() < deadline && child.isAlive()) {
        Thread.sleep(5);
      }
      assertThat(child.isAlive()).as("child alive in round %d", round).isTrue();
      Thread.sleep(random.nextInt(120));
      child.destroyForcibly(); // SIGKILL on Linux
      child.waitFor();
      reader.join();
      long ackedNow = acked.get();
      assertThat(ackedNow).isGreaterThanOrEqualTo(totalAcked);
      totalAcked = ackedNow;
      verify(walDir, dbDir, totalAcked, round, emptyRevision);
    }
  }

  private static void verify(Path walDir, Path dbDir, long acked, int round, long emptyRevision)
      throws Exception {
    try (WalStorage wal = WalStorage.open(walDir, WalStorage.Options.DEFAULT);
        MvccStore store = MvccStore.open(dbDir)) {
      long last = wal.lastIndex();
      assertThat(last)
          .as("round %d: WAL lost acknowledged entries", round)
          .isGreaterThanOrEqualTo(acked);
      for (long i = wal.firstIndex(); i <= last; i += 1) {
        Entry e = wal.entries(i, i + 1, Long.MAX_VALUE).get(0);
        assertThat(e.data()).as("round %d entry %d", round, i).isEqualTo(payload(i));
      }
      assertThat(store.consistentIndex())
          .as("round %d: store applied past the WAL", round)
          .isLessThanOrEqualTo(last);
      replay(wal, store);
      assertThat(store.consistentIndex()).isEqualTo(last);
      // Reference model: the last write to each key among entries 1..last.
      Map<String, String> model = new TreeMap<>();
      for (long i = 1; i <= last; i++) {
        model.put(
            new String(key(i), StandardCharsets.UTF_8),
            new String(value(i), StandardCharsets.UTF_8));
      }
      RangeResponse all = store.range(RangeRequest.range(new byte[] {0}, new byte[] {0}));
      Map<String, String> actual = new TreeMap<>();
      for (KeyValue kv : all.kvs()) {
        actual.put(
            new String(kv.key(), StandardCharsets.UTF_8),
            new String(kv.value(), StandardCharsets.UTF_8));
      }
      assertThat(actual).as("round %d: MVCC store vs model", round).isEqualTo(model);
      // One write transaction per entry: the revision counts every entry once.
      assertThat(store.currentRevision())
          .as("round %d revision", round)
          .isEqualTo(emptyRevision + last);
    }
  }
}
