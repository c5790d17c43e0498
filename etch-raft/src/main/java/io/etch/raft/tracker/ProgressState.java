package io.etch.raft.tracker;

/** How the leader is currently replicating to one follower. */
public enum ProgressState {
  /** Send one MsgApp at a time until the follower's match index is found. */
  PROBE,
  /** Stream MsgApps optimistically, bounded by the in-flight window. */
  REPLICATE,
  /** A snapshot is on its way; send nothing else until it is reported. */
  SNAPSHOT
}
