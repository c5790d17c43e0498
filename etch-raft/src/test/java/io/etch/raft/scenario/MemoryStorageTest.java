package io.etch.raft.scenario;

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
import java.util.ArrayList;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** The in-memory Storage that scenarios (and the simulator) persist to. */
class MemoryStorageTest {

  /** Entries index..index+n-1, all of {@code term}, with {@code size} payload bytes each. */
  private static List<Entry> ents(long index, int n, long term, int size) {
    List<Entry> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(Entry.normal(term, index + i, new byte[size]));
    }
    return out;
  }

  /** A storage holding entries 1..5 (terms 1,1,2,2,3). */
  private static MemoryStorage five() {
    MemoryStorage s = new MemoryStorage();
    s.append(ents(1, 2, 1, 0));
    s.append(ents(3, 2, 2, 0));
    s.append(ents(5, 1, 3, 0));
    return s;
  }

  private static void assertError(ThrowingCallable c, RaftError err) {
    assertThatThrownBy(c)
        .isInstanceOfSatisfying(RaftException.class, e -> assertThat(e.error()).isEqualTo(err));
  }

  @Test
  void emptyStorageHasNoEntriesAndADummyAtZero() {
    MemoryStorage s = new MemoryStorage();
    assertThat(s.firstIndex()).isEqualTo(1);
    assertThat(s.lastIndex()).isZero();
    assertThat(s.term(0)).isZero();
    assertError(() -> s.term(1), RaftError.UNAVAILABLE);
    assertError(() -> s.entries(1, 2, Long.MAX_VALUE), RaftError.UNAVAILABLE);
  }

  @Test
  void termIsKnownFromTheDummyToTheLastEntry() {
    MemoryStorage s = five();
    assertThat(s.term(0)).isZero();
    assertThat(s.term(2)).isEqualTo(1);
    assertThat(s.term(4)).isEqualTo(2);
    assertThat(s.term(5)).isEqualTo(3);
    assertError(() -> s.term(6), RaftError.UNAVAILABLE);
  }

  @Test
  void entriesAreLimitedBySizeButAlwaysAtLeastOne() {
    MemoryStorage s = new MemoryStorage();
    s.append(ents(1, 5, 1, 76)); // 100 bytes each with the 24-byte header
    assertThat(s.entries(1, 6, Long.MAX_VALUE)).hasSize(5);
    assertThat(s.entries(1, 6, 250)).hasSize(2);
    assertThat(s.entries(1, 6, 300)).hasSize(3);
    assertThat(s.entries(1, 6, 1)).hasSize(1);
    assertThat(s.entries(1, 6, 0)).hasSize(1);
    assertThat(s.entries(2, 4, Long.MAX_VALUE)).extracting(Entry::index).containsExactly(2L, 3L);
  }

  @Test
  void entriesOutOfRangeAreErrors() {
    MemoryStorage s = five();
    s.compact(2);
    assertError(() -> s.entries(2, 4, Long.MAX_VALUE), RaftError.COMPACTED);
    assertError(() -> s.entries(3, 7, Long.MAX_VALUE), RaftError.UNAVAILABLE);
    assertThat(s.entries(3, 6, Long.MAX_VALUE)).hasSize(3);
  }

  @Test
  void compactKeepsTheTermOfTheCompactedIndex() {
    MemoryStorage s = five();
    s.compact(4);
    assertThat(s.firstIndex()).isEqualTo(5);
    assertThat(s.lastIndex()).isEqualTo(5);
    assertThat(s.term(4)).isEqualTo(2);
    assertError(() -> s.term(3), RaftError.COMPACTED);
    assertError(() -> s.compact(4), RaftError.COMPACTED);
    assertError(() -> s.compact(2), RaftError.COMPACTED);
    assertThatThrownBy(() -> s.compact(6)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void compactingEverythingLeavesAnEmptyLogAfterTheDummy() {
    MemoryStorage s = five();
    s.compact(5);
    assertThat(s.firstIndex()).isEqualTo(6);
    assertThat(s.lastIndex()).isEqualTo(5);
    assertThat(s.term(5)).isEqualTo(3);
  }

  @Test
  void appendTruncatesAConflictingSuffix() {
    MemoryStorage s = five();
    s.append(ents(3, 1, 9, 0));
    assertThat(s.lastIndex()).isEqualTo(3);
    assertThat(s.term(3)).isEqualTo(9);
    assertThat(s.term(2)).isEqualTo(1);
  }

  @Test
  void appendIgnoresAlreadyCompactedEntries() {
    MemoryStorage s = five();
    s.compact(3);
    s.append(ents(1, 2, 7, 0)); // wholly compacted: ignored
    assertThat(s.lastIndex()).isEqualTo(5);
    s.append(ents(2, 4, 7, 0)); // 2..3 compacted, 4..5 replaced
    assertThat(s.term(4)).isEqualTo(7);
    assertThat(s.lastIndex()).isEqualTo(5);
    assertThat(s.term(3)).isEqualTo(2);
  }

  @Test
  void appendWithAGapIsRefused() {
    MemoryStorage s = five();
    assertThatThrownBy(() -> s.append(ents(7, 1, 3, 0))).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void applySnapshotReplacesTheLog() {
    MemoryStorage s = five();
    Snapshot snap = new Snapshot(new SnapshotMetadata(ConfState.ofVoters(1L, 2L), 10, 4), null);
    s.applySnapshot(snap);
    assertThat(s.firstIndex()).isEqualTo(11);
    assertThat(s.lastIndex()).isEqualTo(10);
    assertThat(s.term(10)).isEqualTo(4);
    assertThat(s.snapshot()).isEqualTo(snap);
    assertThat(s.initialState().confState()).isEqualTo(ConfState.ofVoters(1L, 2L));
    s.append(ents(11, 2, 4, 0));
    assertThat(s.lastIndex()).isEqualTo(12);
  }

  @Test
  void olderSnapshotsAreRefused() {
    MemoryStorage s = new MemoryStorage();
    Snapshot snap = new Snapshot(new SnapshotMetadata(ConfState.ofVoters(1L), 10, 4), null);
    s.applySnapshot(snap);
    assertError(() -> s.applySnapshot(snap), RaftError.SNAPSHOT_OUT_OF_DATE);
    Snapshot older = new Snapshot(new SnapshotMetadata(ConfState.ofVoters(1L), 9, 4), null);
    assertError(() -> s.applySnapshot(older), RaftError.SNAPSHOT_OUT_OF_DATE);
  }

  @Test
  void createSnapshotTakesTheTermOfItsIndex() {
    MemoryStorage s = five();
    Snapshot snap = s.createSnapshot(4, ConfState.ofVoters(1L), new byte[] {7});
    assertThat(snap.index()).isEqualTo(4);
    assertThat(snap.term()).isEqualTo(2);
    assertThat(s.snapshot()).isEqualTo(snap);
    assertError(
        () -> s.createSnapshot(4, ConfState.ofVoters(1L), null), RaftError.SNAPSHOT_OUT_OF_DATE);
    assertThatThrownBy(() -> s.createSnapshot(9, ConfState.ofVoters(1L), null))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void withVotersBootstrapsCommittedConfigurationEntries() {
    MemoryStorage s = MemoryStorage.withVoters(3, 1, 2);
    assertThat(s.lastIndex()).isEqualTo(3);
    assertThat(s.hardState()).isEqualTo(new HardState(1, 0, 3));
    assertThat(s.initialState().confState().voters()).containsExactlyInAnyOrder(1L, 2L, 3L);
    assertThat(s.snapshot().isEmpty()).isTrue();
  }
}
