package io.etch.raft;

/** Catalog of the errors raft hands back to its caller. */
public enum RaftError {
  /** No leader is known, or leadership is being transferred, or forwarding is disabled. */
  PROPOSAL_DROPPED("raft proposal dropped"),
  /** A configuration change is already pending (proposed but not yet applied). */
  CONF_CHANGE_PENDING("possible unapplied conf change"),
  /** The configuration change is not valid against the current configuration. */
  INVALID_CONF_CHANGE("invalid conf change"),
  /** The requested index is older than the log's first index (compacted away). */
  COMPACTED("requested index is unavailable due to compaction"),
  /** The requested entries are not (yet) in storage. */
  UNAVAILABLE("requested entry at index is unavailable"),
  /** A snapshot older than the one storage already holds. */
  SNAPSHOT_OUT_OF_DATE("requested index is older than the existing snapshot"),
  /** A snapshot is being produced and is not yet ready. */
  SNAPSHOT_TEMPORARILY_UNAVAILABLE("snapshot is temporarily unavailable"),
  /** A step() of a message this node cannot accept (local message type, unknown peer...). */
  STEP_REJECTED("raft: cannot step message");

  private final String message;

  RaftError(String message) {
    this.message = message;
  }

  public String message() {
    return message;
  }
}
