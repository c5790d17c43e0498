package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.storage.lease.LeaseRecord;
import io.etch.storage.membership.MemberRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MvccStore#restore}: a store takes over a checkpoint's entire state at runtime (a follower
 * installing a raft snapshot), stays usable through the same object, survives a restart, and a
 * crash at any step of the restore leaves the old store or the new one, never a mix or nothing.
 */
class RestoreTest {
  @TempDir Path tmp;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Applies {@code op} in one batch with the next consistent index. */
  private static void apply(MvccStore s, long index, long term, Consumer<ApplyBatch> op) {
    try (ApplyBatch batch = s.newBatch()) {
      op.accept(batch);
      batch.setConsistentIndex(index, term);
      batch.commit();
    }
  }

  /** History with overwrites, deletes, a txn, leases, members and a compaction. */
  static void populateA(MvccStore s) {
    long i = s.consistentIndex();
    apply(s, ++i, 2, b -> b.put(PutRequest.of(b("a"), b("1"))));
    apply(s, ++i, 2, b -> b.put(new PutRequest(b("b"), b("2"), 7, false, false, false)));
    apply(s, ++i, 2, b -> b.put(PutRequest.of(b("a"), b("3"))));
    apply(s, ++i, 2, b -> b.deleteRange(DeleteRangeRequest.of(b("b"))));
    apply(
        s,
        ++i,
        3,
        b -> {
          b.put(PutRequest.of(b("c"), b("4")));
          b.put(PutRequest.of(b("d"), b("5")));
          b.putLease(new LeaseRecord(7, 60, 0));
          b.putLease(new LeaseRecord(8, 30, 12));
          b.putMember(new MemberRecord(1, "a", List.of("http://a:2380"), List.of(), false));
          b.putMember(new MemberRecord(2, "b", List.of("http://b:2380"), List.of(), true));
        });
    java.util.concurrent.CompletableFuture<?>[] compaction = {null};
    apply(s, ++i, 3, b -> compaction[0] = b.compact(3));
    compaction[0].join();
    apply(s, ++i, 3, b -> b.put(new PutRequest(b("e"), b("6"), 8, false, false, false)));
    apply(s, ++i, 3, b -> b.put(PutRequest.of(b("c"), b("7"))));
  }

  /** Different data, more revisions and a higher consistent index than A's. */
  static void populateB(MvccStore s) {
    long i = s.consistentIndex();
    for (int n = 0; n < 20; n++) {
      int k = n;
      apply(s, ++i + 40, 5, b -> b.put(PutRequest.of(b("other" + (k % 6)), b("x" + k))));
    }
    apply(
        s,
        ++i + 40,
        5,
        b -> {
          b.putLease(new LeaseRecord(99, 10, 0));
          b.putMember(new MemberRecord(9, "z", List.of("http://z:2380"), List.of(), false));
        });
  }

  /**
   * Everything observable about a store, as text: revisions, consistent index and term, every
   * revision's full range from the compact revision on, hashKV at each, hash, leases, members and
   * the event history.
   */
  static String fingerprint(MvccStore s) {
    StringBuilder out = new StringBuilder();
    out.append("revision ").append(s.currentRevision());
    out.append(" compact ").append(s.compactRevision());
    out.append(" index ").append(s.consistentIndex()).append(" term ").append(s.term());
    out.append(" hash ").append(s.hash()).append('\n');
    for (long rev = Math.max(1, s.compactRevision()); rev <= s.currentRevision(); rev++) {
      RangeResponse r =
          s.range(RangeRequest.range(new byte[] {0}, new byte[] {0}).withRevision(rev));
      out.append(rev).append(": ").append(r.kvs()).append(" count ").append(r.count());
      // etcd 3.4 refuses a hashKV at the compact revision itself.
      out.append(" hashKV ").append(rev > s.compactRevision() ? s.hashKV(rev) : "-").append('\n');
    }
    out.append("leases ").append(s.leases()).append('\n');
    out.append("members ").append(s.members()).append('\n');
    out.append("events ")
        .append(s.events(Math.max(1, s.compactRevision()), Long.MAX_VALUE, 1000).events());
    return out.toString();
  }

  @Test
  void restoreReplacesEverythingWithTheCheckpointAndSurvivesAReopen() throws Exception {
    Path cp = tmp.resolve("cp");
    String expected;
    try (MvccStore a = MvccStore.open(tmp.resolve("a"))) {
      populateA(a);
      a.checkpoint(cp);
      expected = fingerprint(a);
    }
    assertThat(expected).contains("compact 3").contains("index 8 term 3");
    MvccStore b = MvccStore.open(tmp.resolve("b"));
    try {
      populateB(b);
      assertThat(fingerprint(b)).isNotEqualTo(expected);
      b.restore(cp);
      assertThat(fingerprint(b)).isEqualTo(expected);
      assertThat(b.leasedKeys()).containsOnlyKeys(8L);
      assertThat(b.indexedKeys()).isEqualTo(5); // A's keys a to e, none of B's "other" keys
      // The same object keeps working: the next entry applies on top of the checkpoint.
      apply(b, 9, 3, x -> x.put(PutRequest.of(b("f"), b("8"))));
      assertThat(b.currentRevision()).isEqualTo(10);
      assertThat(b.range(RangeRequest.of(b("f"))).kvs().get(0).modRevision()).isEqualTo(10);
      expected = fingerprint(b);
      b.close();
      b = MvccStore.open(tmp.resolve("b"));
      assertThat(fingerprint(b)).isEqualTo(expected);
      assertThat(dirNames(tmp.resolve("b"))).contains("ACTIVE", "gen-1").doesNotContain("CURRENT");
      // A second restore replaces the first generation and removes it.
      b.restore(cp);
      assertThat(b.currentRevision()).isEqualTo(9);
      assertThat(dirNames(tmp.resolve("b"))).contains("gen-2").doesNotContain("gen-1");
      assertThat(Files.readString(tmp.resolve("b").resolve("ACTIVE")).trim()).isEqualTo("gen-2");
    } finally {
      b.close();
    }
    // The checkpoint is untouched and still opens by itself.
    try (MvccStore c = MvccStore.open(cp)) {
      assertThat(c.currentRevision()).isEqualTo(9);
    }
  }

  @Test
  void aCheckpointThatCannotBeOpenedLeavesTheStoreAsItWas() throws Exception {
    try (MvccStore b = MvccStore.open(tmp.resolve("b"))) {
      populateB(b);
      String before = fingerprint(b);
      Path bogus = Files.createDirectories(tmp.resolve("bogus"));
      Files.writeString(bogus.resolve("CURRENT"), "MANIFEST-000099\n");
      assertThatThrownBy(() -> b.restore(bogus)).isInstanceOf(StorageException.class);
      assertThatThrownBy(() -> b.restore(tmp.resolve("missing")))
          .isInstanceOf(StorageException.class);
      assertThat(fingerprint(b)).isEqualTo(before);
      assertThat(dirNames(tmp.resolve("b")))
          .noneMatch(n -> n.startsWith("gen-") || n.equals("ACTIVE"));
      apply(b, 1000, 6, x -> x.put(PutRequest.of(b("still"), b("writable"))));
    }
    try (MvccStore b = MvccStore.open(tmp.resolve("b"))) {
      assertThat(b.range(RangeRequest.of(b("still"))).kvs()).hasSize(1);
    }
  }

  @Test
  void readsDuringARestoreSeeTheOldStateOrTheNewNeverAMix() throws Exception {
    Path cp = tmp.resolve("cp");
    try (MvccStore a = MvccStore.open(tmp.resolve("a"))) {
      for (int i = 0; i < 200; i++) {
        int k = i;
        apply(a, i + 1, 1, x -> x.put(PutRequest.of(b("k" + (k % 50)), b("new"))));
      }
      a.checkpoint(cp);
    }
    // No value cache: every read goes to RocksDB, which the restore closes under the readers.
    MvccOptions noCache = MvccOptions.defaults().withValueCacheBytes(0);
    try (MvccStore b = MvccStore.open(tmp.resolve("b"), noCache)) {
      apply(
          b,
          1,
          1,
          x -> {
            for (int i = 0; i < 50; i++) {
              x.put(PutRequest.of(b("k" + i), b("old")));
            }
          });
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong reads = new AtomicLong();
      ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
      List<Thread> readers = new ArrayList<>();
      for (int t = 0; t < 3; t++) {
        Thread th =
            new Thread(
                () -> {
                  while (!stop.get()) {
                    try {
                      RangeResponse r = b.range(RangeRequest.range(b("k"), b("l")).withRevision(0));
                      String values =
                          r.kvs().stream()
                              .map(kv -> new String(kv.value(), StandardCharsets.UTF_8))
                              .distinct()
                              .toList()
                              .toString();
                      boolean old = r.header().revision() == 51 && values.equals("[old]");
                      boolean fresh = r.header().revision() == 201 && values.equals("[new]");
                      if (r.kvs().size() != 50 || !(old || fresh)) {
                        wrong.add(r.header().revision() + " " + r.kvs().size() + " " + values);
                      }
                      b.hashKV(0);
                      reads.incrementAndGet();
                    } catch (RuntimeException e) {
                      wrong.add(e.toString());
                    }
                  }
                });
        th.start();
        readers.add(th);
      }
      while (reads.get() < 50) {
        Thread.sleep(1);
      }
      long before = reads.get();
      b.restore(cp);
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
      while (reads.get() < before + 50 && System.nanoTime() < until) {
        Thread.sleep(1);
      }
      stop.set(true);
      for (Thread th : readers) {
        th.join();
      }
      assertThat(wrong).isEmpty();
      assertThat(b.currentRevision()).isEqualTo(201);
    }
  }

  // ---------------------------------------------------------------- crash at each step

  /** Child JVM: restore {@code args[0]} from {@code args[1]}, halting at step {@code args[2]}. */
  public static void main(String[] args) {
    String haltAt = args[2];
    MvccStore.restoreStep =
        step -> {
          if (step.equals(haltAt)) {
            System.out.flush();
            Runtime.getRuntime().halt(42); // no shutdown hooks, no close: as kill -9
          }
        };
    MvccStore s = MvccStore.open(Path.of(args[0]));
    s.restore(Path.of(args[1]));
    Runtime.getRuntime().halt(43); // step never reached
  }

  private static final List<String> OLD_STEPS =
      List.of("linked", "copied", "opened", "pointer-written");
  private static final List<String> NEW_STEPS =
      List.of("committed", "swapped", "old-partly-deleted", "done");

  @Test
  void aCrashAtAnyStepOfARestoreLeavesTheOldStoreOrTheNewOne() throws Exception {
    Path cp = tmp.resolve("cp");
    String fresh;
    try (MvccStore a = MvccStore.open(tmp.resolve("a"))) {
      populateA(a);
      a.checkpoint(cp);
      fresh = fingerprint(a);
    }
    // Two starting layouts: a store never restored (RocksDB in its directory) and one restored
    // before (RocksDB in gen-1).
    for (boolean restoredBefore : new boolean[] {false, true}) {
      for (String step : Stream.concat(OLD_STEPS.stream(), NEW_STEPS.stream()).toList()) {
        Path dir = tmp.resolve("b-" + restoredBefore + "-" + step);
        String old;
        try (MvccStore b = MvccStore.open(dir)) {
          if (restoredBefore) {
            b.restore(cp);
          }
          populateB(b);
          old = fingerprint(b);
        }
        Process child =
            new ProcessBuilder(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp",
                    System.getProperty("java.class.path"),
                    RestoreTest.class.getName(),
                    dir.toString(),
                    cp.toString(),
                    step)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as("child halted at %s", step).isEqualTo(42);
        try (MvccStore b = MvccStore.open(dir)) {
          assertThat(fingerprint(b))
              .as("after a crash at %s (restored before: %s)", step, restoredBefore)
              .isEqualTo(OLD_STEPS.contains(step) ? old : fresh);
          // Whatever the crash left behind is gone: one RocksDB instance remains.
          List<String> names = dirNames(dir);
          assertThat(names.stream().filter(n -> n.startsWith("gen-")).count())
              .as("generations left after %s: %s", step, names)
              .isLessThanOrEqualTo(1);
          assertThat(names).doesNotContain("ACTIVE.tmp");
          if (names.contains("ACTIVE")) {
            assertThat(names).as("old layout removed after %s", step).doesNotContain("CURRENT");
          }
          // And it takes writes.
          long next = b.consistentIndex() + 1;
          apply(b, next, 9, x -> x.put(PutRequest.of(b("after"), b("crash"))));
        }
        try (MvccStore b = MvccStore.open(dir)) {
          assertThat(b.range(RangeRequest.of(b("after"))).kvs()).hasSize(1);
        }
      }
    }
  }

  private static List<String> dirNames(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
