package io.etch.storage.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.HardState;
import io.etch.raft.MemoryStorage;
import io.etch.raft.RaftError;
import io.etch.raft.RaftException;
import io.etch.raft.Snapshot;
import io.etch.raft.SnapshotMetadata;
import io.etch.raft.Storage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link WalStorage} against etch-raft's {@link MemoryStorage} as the model: seeded random appends
 * (with conflicting suffixes), snapshots, compactions, installed snapshots and restarts, with a
 * cache small enough that most reads come back from the segments.
 */
class WalStorageTest {
  static final WalStorage.Options OPTIONS =
      new WalStorage.Options(new Wal.Options(16 * 1024), 2 * 1024);
  static final ConfState CONF = ConfState.ofVoters(1L, 2L, 3L);

  @TempDir Path tmp;

  @Test
  void behavesAsMemoryStorageThroughAppendsSnapshotsCompactionsAndRestarts() throws IOException {
    for (long seed = 1; seed <= 4; seed++) {
      runModel(seed, tmp.resolve("wal-" + seed));
    }
  }

  private void runModel(long seed, Path dir) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    // A bare model (no bootstrap entries): the WAL starts from the same empty configuration.
    MemoryStorage model = new MemoryStorage();
    WalStorage ws = WalStorage.create(dir, WalTest.META, ConfState.EMPTY, OPTIONS);
    long term = 1;
    try {
      for (int step = 0; step < 300; step++) {
        int op = r.nextInt(100);
        String what = "seed " + seed + " step " + step;
        if (op < 70) {
          long last = model.lastIndex();
          long start = last + 1;
          // Raft overwrites only uncommitted entries, so never at or below the snapshot.
          long lowest = Math.max(model.firstIndex(), model.snapshot().index() + 1);
          if (r.nextInt(5) == 0 && last >= lowest) {
            start = Math.max(lowest, last - r.nextInt(6));
            term++;
          }
          List<Entry> ents = new ArrayList<>();
          int n = 1 + r.nextInt(10);
          for (long i = start; i < start + n; i++) {
            ents.add(Entries.entry(term, i, r.nextInt(400)));
          }
          HardState hs = new HardState(term, 1, Math.max(0, start - 1));
          model.append(ents);
          model.setHardState(hs);
          ws.save(hs, ents, r.nextBoolean());
        } else if (op < 82) {
          long lo = model.snapshot().index() + 1;
          long hi = model.lastIndex();
          if (lo <= hi) {
            long at = lo + r.nextLong(hi - lo + 1);
            byte[] data = {(byte) at};
            model.createSnapshot(at, CONF, data);
            ws.createSnapshot(at, CONF, data);
            long c = Math.max(model.firstIndex(), at - r.nextInt(20));
            if (c > model.firstIndex() - 1 && c <= model.lastIndex()) {
              model.compact(c);
              ws.compact(c);
            }
          }
        } else if (op < 87) {
          long at = model.lastIndex() + r.nextInt(10);
          if (at > model.snapshot().index()) {
            term++;
            Snapshot snap = new Snapshot(new SnapshotMetadata(CONF, at, term), new byte[] {1});
            model.applySnapshot(snap);
            ws.applySnapshot(snap);
          }
        } else {
          ws.close();
          ws = WalStorage.open(dir, OPTIONS);
          model = restarted(model);
        }
        assertSame(what, model, ws);
      }
      WalStorage last = ws;
      assertThatThrownBy(() -> last.createSnapshot(0, CONF, null))
          .isInstanceOf(RaftException.class);
    } finally {
      ws.close();
    }
  }

  /** What a restart keeps: the snapshot, the entries after it, the hard state. */
  private static MemoryStorage restarted(MemoryStorage before) {
    MemoryStorage m = new MemoryStorage();
    Snapshot snap = before.snapshot();
    if (snap.index() > 0) {
      m.applySnapshot(snap);
    }
    long from = Math.max(snap.index() + 1, before.firstIndex());
    if (from <= before.lastIndex()) {
      m.append(before.entries(from, before.lastIndex() + 1, Long.MAX_VALUE));
    }
    m.setHardState(before.hardState());
    return m;
  }

  private static void assertSame(String what, MemoryStorage model, WalStorage ws) {
    assertThat(ws.firstIndex()).as(what + " firstIndex").isEqualTo(model.firstIndex());
    assertThat(ws.lastIndex()).as(what + " lastIndex").isEqualTo(model.lastIndex());
    assertThat(ws.initialState()).as(what).isEqualTo(model.initialState());
    assertThat(ws.snapshot().metadata()).as(what).isEqualTo(model.snapshot().metadata());
    for (long i = model.firstIndex() - 1; i <= model.lastIndex(); i++) {
      assertThat(ws.term(i)).as(what + " term(" + i + ")").isEqualTo(model.term(i));
    }
    if (model.lastIndex() >= model.firstIndex()) {
      long hi = model.lastIndex() + 1;
      assertThat(ws.entries(model.firstIndex(), hi, Long.MAX_VALUE))
          .as(what)
          .containsExactlyElementsOf(model.entries(model.firstIndex(), hi, Long.MAX_VALUE));
      assertThat(ws.entries(model.firstIndex(), hi, 1000))
          .as(what + " size-limited")
          .containsExactlyElementsOf(model.entries(model.firstIndex(), hi, 1000));
    }
    assertThat(ws.cachedBytes()).isLessThanOrEqualTo(OPTIONS.cacheBytes() + 500);
  }

  @Test
  void outOfRangeReadsFailWithRaftErrors() throws IOException {
    try (WalStorage ws = WalStorage.create(tmp.resolve("w"), WalTest.META, CONF, OPTIONS)) {
      ws.save(new HardState(1, 1, 0), Entries.range(1, 1, 10), true);
      ws.createSnapshot(5, CONF, null);
      ws.compact(5);
      assertThat(ws.firstIndex()).isEqualTo(6);
      assertThat(ws.term(5)).isEqualTo(1);
      assertThatThrownBy(() -> ws.entries(5, 7, Long.MAX_VALUE))
          .isInstanceOfSatisfying(
              RaftException.class, e -> assertThat(e.error()).isEqualTo(RaftError.COMPACTED));
      assertThatThrownBy(() -> ws.entries(6, 12, Long.MAX_VALUE))
          .isInstanceOfSatisfying(
              RaftException.class, e -> assertThat(e.error()).isEqualTo(RaftError.UNAVAILABLE));
      assertThatThrownBy(() -> ws.term(4))
          .isInstanceOfSatisfying(
              RaftException.class, e -> assertThat(e.error()).isEqualTo(RaftError.COMPACTED));
      assertThatThrownBy(() -> ws.save(null, Entries.range(1, 12, 12), true))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("missing log entry");
      assertThatThrownBy(
              () -> ws.applySnapshot(new Snapshot(new SnapshotMetadata(CONF, 5, 1), null)))
          .isInstanceOfSatisfying(
              RaftException.class,
              e -> assertThat(e.error()).isEqualTo(RaftError.SNAPSHOT_OUT_OF_DATE));
    }
  }

  @Test
  void segmentsBelowTheSnapshotAreDeletedOnceCompactedAndTheLogStillReopens() throws IOException {
    Path dir = tmp.resolve("w");
    try (WalStorage ws = WalStorage.create(dir, WalTest.META, CONF, OPTIONS)) {
      for (long i = 1; i <= 500; i += 10) {
        ws.save(new HardState(1, 1, i + 9), Entries.range(1, i, i + 9), true);
      }
      List<Path> before = ws.wal().segmentFiles();
      ws.createSnapshot(400, CONF, null);
      for (Path p : before) {
        assertThat(p).exists(); // entries up to 400 are still readable until compacted
      }
      ws.compact(300);
      // Segments cut at or before index 301 hold only entries <= 300: gone. The rest stay.
      for (Path p : before) {
        long nextFirst =
            before.indexOf(p) + 1 < before.size()
                ? SegmentName.parse(before.get(before.indexOf(p) + 1).getFileName().toString())
                    .orElseThrow()
                    .firstIndex()
                : Long.MAX_VALUE;
        if (nextFirst - 1 <= 300) {
          assertThat(p).doesNotExist();
        } else {
          assertThat(p).exists();
        }
      }
      assertThat(before.get(0)).doesNotExist();
      assertThat(ws.entries(301, 501, Long.MAX_VALUE))
          .containsExactlyElementsOf(Entries.range(1, 301, 500));
    }
    try (WalStorage ws = WalStorage.open(dir, OPTIONS)) {
      assertThat(ws.firstIndex()).isEqualTo(401);
      assertThat(ws.lastIndex()).isEqualTo(500);
      assertThat(ws.hardState()).isEqualTo(new HardState(1, 1, 500));
      assertThat(ws.metadata()).isEqualTo(WalTest.META);
      assertThat(ws.entries(401, 501, Long.MAX_VALUE))
          .containsExactlyElementsOf(Entries.range(1, 401, 500));
    }
  }

  @Test
  void isAStorageForRaft() {
    assertThat(Storage.class).isAssignableFrom(WalStorage.class);
  }
}
