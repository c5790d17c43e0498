package io.etch.raft;

/** How the leader confirms it is still leader before serving a read index (thesis §6.4). */
public enum ReadOnlyOption {
  /** One heartbeat round acknowledged by a quorum confirms leadership. */
  SAFE,
  /**
   * Trust the leader lease (requires check-quorum): no round trip, but relies on bounded clock
   * drift.
   */
  LEASE_BASED
}
