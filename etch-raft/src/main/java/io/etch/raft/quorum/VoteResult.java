package io.etch.raft.quorum;

/** The outcome of an election as far as it is known. */
public enum VoteResult {
  /** Neither won nor lost: more votes are needed. */
  PENDING,
  LOST,
  WON
}
