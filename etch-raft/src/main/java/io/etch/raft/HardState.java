package io.etch.raft;

/** The state raft must persist before sending any message that depends on it. */
public record HardState(long term, long vote, long commit) {
  public static final HardState EMPTY = new HardState(0, 0, 0);

  public boolean isEmpty() {
    return equals(EMPTY);
  }
}
