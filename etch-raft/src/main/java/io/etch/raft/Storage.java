package io.etch.raft;

import java.util.List;

/**
 * The raft log as the caller persists it. Raft reads through this interface; the caller writes
 * (entries and hard state from each {@link Ready}, snapshots, compaction). Implementations: {@link
 * MemoryStorage} for tests, the WAL-backed one in etch-storage.
 *
 * <p>Index conventions, as etcd-io/raft: the log holds a dummy entry at {@code firstIndex()-1}
 * whose term is known (the last compacted/snapshot entry); entries {@code [firstIndex(),
 * lastIndex()]} are readable.
 */
public interface Storage {

  /** The persisted hard state and configuration at startup. */
  InitialState initialState();

  /**
   * Entries in {@code [lo, hi)}, limited to {@code maxSize} bytes in total ({@link Entry#size()})
   * but always at least one entry if any is in range.
   *
   * @throws RaftException COMPACTED if {@code lo < firstIndex()}, UNAVAILABLE if {@code hi >
   *     lastIndex()+1}
   */
  List<Entry> entries(long lo, long hi, long maxSize);

  /**
   * The term of entry {@code index}, for {@code firstIndex()-1 <= index <= lastIndex()}.
   *
   * @throws RaftException COMPACTED or UNAVAILABLE when out of that range
   */
  long term(long index);

  long firstIndex();

  long lastIndex();

  /**
   * The most recent snapshot.
   *
   * @throws RaftException SNAPSHOT_TEMPORARILY_UNAVAILABLE while one is being made
   */
  Snapshot snapshot();

  /** Hard state and configuration read back at startup. */
  record InitialState(HardState hardState, ConfState confState) {}
}
