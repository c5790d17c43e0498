package io.etch.raft.sim;

import io.etch.raft.ConfState;
import io.etch.raft.MemoryStorage;
import io.etch.raft.RawNode;
import io.etch.raft.ReadState;
import io.etch.raft.StateRole;
import java.util.ArrayList;
import java.util.LinkedHashMap;

/**
 * One simulated member: its durable storage, which survives crashes, and its volatile parts (the
 * raft node, the state machine, pending reads), which a crash throws away.
 *
 * <p>Confined to the simulator's thread.
 */
final class SimNode {
  final long id;

  /** Durable: what an fsync would have kept. */
  final MemoryStorage storage;

  // Volatile: null / empty while down.
  RawNode raft;
  KvStateMachine sm;

  /** The configuration as of this node's applied index (for the snapshots it makes). */
  ConfState conf;

  /** Role and term as the node's Readies reported them (SoftState, HardState). */
  StateRole role = StateRole.FOLLOWER;

  long term;

  final LinkedHashMap<Long, String> pendingReads = new LinkedHashMap<>(); // readId -> key
  final ArrayList<ReadState> waitingReads = new ArrayList<>();

  /** Bumped at each restart so reports about an older incarnation's messages are dropped. */
  int incarnation;

  long restartAt = -1;

  /** Stopped for good: removed from the cluster. */
  boolean retired;

  long stopAt = -1;

  SimNode(long id, MemoryStorage storage) {
    this.id = id;
    this.storage = storage;
  }

  boolean up() {
    return raft != null;
  }

  @Override
  public String toString() {
    return "node "
        + id
        + (up() ? "" : retired ? " (retired)" : " (down)")
        + " applied="
        + (sm == null ? "-" : sm.appliedIndex())
        + " storage="
        + storage.firstIndex()
        + ".."
        + storage.lastIndex()
        + " snap="
        + storage.snapshot().index()
        + " hs="
        + storage.hardState()
        + (conf == null ? "" : " conf " + SafetyChecker.describe(conf));
  }
}
