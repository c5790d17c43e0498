package io.etch.storage.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.HardState;
import io.etch.raft.SnapshotMetadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalTest {
  static final byte[] META = "cluster=1,member=2".getBytes();
  static final SnapshotMetadata BOOT = new SnapshotMetadata(ConfState.ofVoters(1L, 2L, 3L), 0, 0);
  static final Wal.Options SMALL = new Wal.Options(16 * 1024);

  @TempDir Path tmp;

  private Path dir() {
    return tmp.resolve("wal");
  }

  @Test
  void appendedEntriesAndHardStateSurviveReopen() throws IOException {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      wal.save(new HardState(1, 1, 0), Entries.range(1, 1, 10), true);
      wal.save(new HardState(2, 1, 8), Entries.range(2, 11, 20), true);
    }
    Wal.Recovered r = Wal.open(dir(), SMALL, 1 << 20);
    try (Wal wal = r.wal()) {
      assertThat(r.metadata()).isEqualTo(META);
      assertThat(r.hardState()).isEqualTo(new HardState(2, 1, 8));
      assertThat(r.snapshot()).isEqualTo(BOOT);
      List<Entry> expected = new ArrayList<>(Entries.range(1, 1, 10));
      expected.addAll(Entries.range(2, 11, 20));
      assertThat(r.entries()).containsExactlyElementsOf(expected);
      assertThat(r.truncatedBytes()).isZero();
    }
  }

  @Test
  void aLaterEntryReplacesTheSuffixFromItsIndexOnReplay() throws IOException {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      wal.save(null, Entries.range(1, 1, 10), true);
      wal.save(null, Entries.range(2, 6, 7), true); // conflict at 6: 8..10 of term 1 are gone
    }
    Wal.Recovered r = Wal.open(dir(), SMALL, 1 << 20);
    try (Wal wal = r.wal()) {
      List<Entry> expected = new ArrayList<>(Entries.range(1, 1, 5));
      expected.addAll(Entries.range(2, 6, 7));
      assertThat(r.entries()).containsExactlyElementsOf(expected);
    }
  }

  @Test
  void segmentsRollOverAndReplayAcrossThem() throws IOException {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      for (long i = 1; i <= 400; i += 10) {
        wal.save(new HardState(1, 1, i - 1), Entries.range(1, i, i + 9), true);
      }
      List<Path> files = wal.segmentFiles();
      assertThat(files).hasSizeGreaterThan(3);
      assertThat(files.get(0).getFileName().toString())
          .isEqualTo("0000000000000000-0000000000000001.wal");
      for (Path f : files) {
        assertThat(Files.size(f))
            .as("preallocated %s", f)
            .isGreaterThanOrEqualTo(SMALL.segmentBytes());
      }
      // Cut after a batch: each later segment's name tells the first index written to it.
      for (int k = 1; k < files.size(); k++) {
        long first =
            SegmentName.parse(files.get(k).getFileName().toString()).orElseThrow().firstIndex();
        assertThat(first % 10).isEqualTo(1);
      }
    }
    try (var files = Files.list(dir())) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .as("the preallocated next segment is removed at close")
          .noneMatch(n -> n.endsWith(".tmp"));
    }
    Wal.Recovered r = Wal.open(dir(), SMALL, 4 << 10); // small cache: most entries read from disk
    try (Wal wal = r.wal()) {
      assertThat(r.entries()).containsExactlyElementsOf(Entries.range(1, 1, 400));
      assertThat(r.hardState()).isEqualTo(new HardState(1, 1, 390));
    }
  }

  @Test
  void reopenedWalContinuesAppending() throws IOException {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      wal.save(null, Entries.range(1, 1, 50), true);
    }
    for (int round = 0; round < 3; round++) {
      Wal.Recovered r = Wal.open(dir(), SMALL, 1 << 20);
      try (Wal wal = r.wal()) {
        long last = 50 + round * 50L;
        assertThat(r.entries()).containsExactlyElementsOf(Entries.range(1, 1, last));
        wal.save(null, Entries.range(1, last + 1, last + 50), true);
      }
    }
  }

  @Test
  void groupCommitSharesFsyncsBetweenConcurrentWriters() throws Exception {
    int threads = 16;
    int perThread = 100;
    try (Wal wal = Wal.create(dir(), META, BOOT, new Wal.Options(1 << 20))) {
      AtomicInteger next = new AtomicInteger(1);
      Object order = new Object();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<java.util.concurrent.Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(
            pool.submit(
                () -> {
                  for (int k = 0; k < perThread; k++) {
                    CompletableFuture<Void> f;
                    synchronized (order) { // indices must reach the queue in order
                      int i = next.getAndIncrement();
                      f = wal.appendAsync(null, List.of(Entries.entry(1, i, 64)));
                    }
                    f.join();
                  }
                  return null;
                }));
      }
      for (var f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertThat(wal.fsyncs()).isLessThan(threads * perThread);
    }
    Wal.Recovered r = Wal.open(dir(), SMALL, 1 << 20);
    try (Wal wal = r.wal()) {
      assertThat(r.entries()).hasSize(threads * perThread);
      for (int i = 0; i < threads * perThread; i++) {
        assertThat(r.entries().get(i)).isEqualTo(Entries.entry(1, i + 1, 64));
      }
    }
  }

  @Test
  void aWriterLearnsDurabilityOnlyAfterTheFsyncAndLaterArrivalsShareTheNextOne() throws Exception {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      CountDownLatch inForce = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicInteger forces = new AtomicInteger();
      wal.forcer =
          ch -> {
            if (forces.incrementAndGet() == 1) {
              inForce.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                throw new IOException(e);
              }
            }
            ch.force(false);
          };
      CompletableFuture<Void> first = wal.appendAsync(null, Entries.range(1, 1, 1));
      assertThat(inForce.await(10, TimeUnit.SECONDS)).isTrue();
      // These arrive while the first fsync is in flight.
      List<CompletableFuture<Void>> later = new ArrayList<>();
      for (long i = 2; i <= 6; i++) {
        later.add(wal.appendAsync(null, Entries.range(1, i, i)));
      }
      Thread.sleep(50);
      assertThat(first).isNotDone();
      assertThat(later).noneMatch(CompletableFuture::isDone);
      release.countDown();
      first.get(10, TimeUnit.SECONDS);
      CompletableFuture.allOf(later.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
      assertThat(forces.get()).isEqualTo(2);
    }
  }

  @Test
  void saveFsyncsOnTheCallingThreadAndAppendsArrivingMeanwhileFollowInOrder() throws Exception {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      CountDownLatch inForce = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      List<Thread> forcedOn = java.util.Collections.synchronizedList(new ArrayList<>());
      wal.forcer =
          ch -> {
            forcedOn.add(Thread.currentThread());
            if (forcedOn.size() == 1) {
              inForce.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                throw new IOException(e);
              }
            }
            ch.force(false);
          };
      Thread saver =
          new Thread(
              () -> {
                try {
                  wal.save(null, Entries.range(1, 1, 3), true);
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              },
              "saver");
      saver.start();
      assertThat(inForce.await(10, TimeUnit.SECONDS)).isTrue();
      // Arrives while the saver's own fsync runs: queued for the committer, not written before it.
      CompletableFuture<Void> later = wal.appendAsync(null, Entries.range(1, 4, 5));
      Thread.sleep(50);
      assertThat(later).isNotDone();
      release.countDown();
      saver.join(10_000);
      later.get(10, TimeUnit.SECONDS);
      assertThat(forcedOn).hasSize(2);
      assertThat(forcedOn.get(0)).isSameAs(saver);
      assertThat(forcedOn.get(1).getName()).startsWith("wal-committer");
      // Idle again (the committer completes a batch's futures before it gives up the role, so
      // wait for that): the next save commits on its caller's thread too.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!wal.idle() && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      assertThat(wal.idle()).isTrue();
      wal.save(null, Entries.range(1, 6, 6), true);
      assertThat(forcedOn).hasSize(3);
      assertThat(forcedOn.get(2)).isSameAs(Thread.currentThread());
    }
    Wal.Recovered r = Wal.open(dir(), SMALL, 1 << 20);
    try (Wal wal = r.wal()) {
      assertThat(r.entries()).isEqualTo(Entries.range(1, 1, 6));
    }
  }

  @Test
  void aFailedFsyncFailsTheBatchAndEveryLaterAppend() throws Exception {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      wal.save(null, Entries.range(1, 1, 3), true);
      wal.forcer =
          ch -> {
            throw new IOException("EIO from test");
          };
      assertThatThrownBy(() -> wal.save(null, Entries.range(1, 4, 4), true))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("EIO from test");
      wal.forcer = ch -> ch.force(false);
      assertThatThrownBy(() -> wal.save(null, Entries.range(1, 5, 5), true))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("failed earlier");
    }
  }

  @Test
  void appendWithoutSyncSkipsTheFsync() throws IOException {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      long before = wal.fsyncs();
      wal.save(null, Entries.range(1, 1, 3), false);
      assertThat(wal.fsyncs()).isEqualTo(before);
      wal.save(null, Entries.range(1, 4, 4), true);
      assertThat(wal.fsyncs()).isEqualTo(before + 1);
    }
  }

  @Test
  void releaseDeletesOnlySegmentsWhollyBelowTheIndex() throws IOException {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      for (long i = 1; i <= 400; i += 10) {
        wal.save(new HardState(1, 1, i + 9), Entries.range(1, i, i + 9), true);
      }
      List<Path> before = wal.segmentFiles();
      SnapshotMetadata snap = new SnapshotMetadata(ConfState.ofVoters(1L), 250, 1);
      wal.saveSnapshot(snap, false);
      int released = wal.releaseTo(250);
      assertThat(released).isPositive();
      List<Path> after = wal.segmentFiles();
      // A cut may still be adding a segment at the end (it runs after the fsync is acknowledged).
      assertThat(after.subList(0, before.size() - released))
          .isEqualTo(before.subList(released, before.size()));
      long firstKept =
          SegmentName.parse(after.get(0).getFileName().toString()).orElseThrow().firstIndex();
      long secondKept =
          SegmentName.parse(after.get(1).getFileName().toString()).orElseThrow().firstIndex();
      assertThat(firstKept).isLessThanOrEqualTo(251);
      assertThat(secondKept).isGreaterThan(251);
      for (Path gone : before.subList(0, released)) {
        assertThat(gone).doesNotExist();
      }
    }
    Wal.Recovered r = Wal.open(dir(), SMALL, 1 << 20);
    try (Wal wal = r.wal()) {
      assertThat(r.snapshot().index()).isEqualTo(250);
      assertThat(r.entries()).containsExactlyElementsOf(Entries.range(1, 251, 400));
      assertThat(r.hardState()).isEqualTo(new HardState(1, 1, 400));
      assertThat(r.metadata()).isEqualTo(META);
    }
  }

  @Test
  void anInstalledSnapshotDropsTheLogBeforeItOnReplay() throws IOException {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      wal.save(null, Entries.range(1, 1, 20), true);
      wal.saveSnapshot(new SnapshotMetadata(ConfState.ofVoters(1L), 15, 3), true);
      wal.save(null, Entries.range(3, 16, 17), true);
    }
    Wal.Recovered r = Wal.open(dir(), SMALL, 1 << 20);
    try (Wal wal = r.wal()) {
      assertThat(r.snapshot().index()).isEqualTo(15);
      assertThat(r.entries()).containsExactlyElementsOf(Entries.range(3, 16, 17));
    }
  }

  @Test
  void aWalIsOpenedByOneOwnerAtATime() throws IOException {
    try (Wal wal = Wal.create(dir(), META, BOOT, SMALL)) {
      assertThatThrownBy(() -> Wal.open(dir(), SMALL, 1 << 20))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("already open");
    }
  }

  @Test
  void closedWalRejectsAppends() throws IOException {
    Wal wal = Wal.create(dir(), META, BOOT, SMALL);
    wal.close();
    assertThatThrownBy(() -> wal.save(null, Entries.range(1, 1, 1), true))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void creatingOverAnExistingWalIsRefused() throws IOException {
    Wal.create(dir(), META, BOOT, SMALL).close();
    assertThatThrownBy(() -> Wal.create(dir(), META, BOOT, SMALL))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("already exists");
  }
}
