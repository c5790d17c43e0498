package io.etch.raft;

/** Kinds of raft messages. Local kinds never cross the network. */
public enum MessageType {
  /** Local: start an election. */
  HUP(true),
  /** Local: leader should broadcast heartbeats. */
  BEAT(true),
  /** A proposal: local, or forwarded from a follower to the leader. */
  PROP(false),
  APP(false),
  APP_RESP(false),
  VOTE(false),
  VOTE_RESP(false),
  PRE_VOTE(false),
  PRE_VOTE_RESP(false),
  SNAP(false),
  HEARTBEAT(false),
  HEARTBEAT_RESP(false),
  /** Local: the transport could not reach {@code from}. */
  UNREACHABLE(true),
  /** Local: report whether sending a snapshot to {@code from} succeeded ({@code reject}). */
  SNAP_STATUS(true),
  /** Local: leader checks it still hears from a quorum. */
  CHECK_QUORUM(true),
  /** Ask the leader to transfer leadership to {@code from}. */
  TRANSFER_LEADER(false),
  /** Leader to transfer target: campaign now, ignoring the election timer. */
  TIMEOUT_NOW(false),
  READ_INDEX(false),
  READ_INDEX_RESP(false);

  private final boolean local;

  MessageType(boolean local) {
    this.local = local;
  }

  public boolean isLocal() {
    return local;
  }

  /** Responses carry no term decision of their own. */
  public boolean isResponse() {
    return this == APP_RESP
        || this == VOTE_RESP
        || this == PRE_VOTE_RESP
        || this == HEARTBEAT_RESP
        || this == READ_INDEX_RESP
        || this == UNREACHABLE;
  }

  public MessageType voteResponse() {
    return switch (this) {
      case VOTE -> VOTE_RESP;
      case PRE_VOTE -> PRE_VOTE_RESP;
      default -> throw new IllegalArgumentException("not a vote message: " + this);
    };
  }
}
