package io.etch.server.raft;

import io.etch.raft.Entry;
import io.etch.raft.Snapshot;
import java.util.List;

/**
 * What committed entries are applied to. Called only from the apply thread, in log order; each call
 * covers one Ready's committed entries so an implementation can write them in one batch together
 * with the index of the last one (the consistent index).
 */
public interface StateMachine {
  /** Applies committed entries (NORMAL with empty data are leader no-ops: skip them). */
  void apply(List<Entry> entries);

  /** Replaces the whole state with a snapshot received from the leader. */
  void restore(Snapshot snapshot);

  /** The index of the last entry applied (the consistent index after a restart). */
  long appliedIndex();
}
