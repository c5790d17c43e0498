package io.etch.raft.tracker;

/**
 * The leader's view of one follower's log: {@code match} is the highest index known replicated,
 * {@code next} the next index to send. Confined to the raft loop.
 */
public final class Progress {
  public long match;
  public long next;
  public ProgressState state = ProgressState.PROBE;

  /** While in SNAPSHOT: the index of the snapshot being sent. */
  public long pendingSnapshot;

  /** Heard from since the last check-quorum round. */
  public boolean recentActive;

  /** In PROBE: a MsgApp was sent and we wait for an answer (or a heartbeat response). */
  public boolean msgAppFlowPaused;

  public boolean isLearner;
  public final Inflights inflights;

  /** The highest commit index the follower reported in a response (it knows that much is). */
  public long commit;

  public Progress(long match, long next, Inflights inflights, boolean isLearner) {
    this.match = match;
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  public Progress copy() {
    Progress p = new Progress(match, next, inflights.copy(), isLearner);
    p.state = state;
    p.pendingSnapshot = pendingSnapshot;
    p.recentActive = recentActive;
    p.msgAppFlowPaused = msgAppFlowPaused;
    p.commit = commit;
    return p;
  }

  private void resetState(ProgressState s) {
    msgAppFlowPaused = false;
    pendingSnapshot = 0;
    state = s;
    inflights.reset();
  }

  public void becomeProbe() {
    if (state == ProgressState.SNAPSHOT) {
      // Resume after the snapshot: the follower holds at least what it contained.
      long pending = pendingSnapshot;
      resetState(ProgressState.PROBE);
      next = Math.max(match + 1, pending + 1);
    } else {
      resetState(ProgressState.PROBE);
      next = match + 1;
    }
  }

  public void becomeReplicate() {
    resetState(ProgressState.REPLICATE);
    next = match + 1;
  }

  public void becomeSnapshot(long snapshotIndex) {
    resetState(ProgressState.SNAPSHOT);
    pendingSnapshot = snapshotIndex;
  }

  /** Records that entries up to {@code lastIndex} were sent (REPLICATE: optimistically). */
  public void sentEntries(int count, long lastIndex, long bytes) {
    switch (state) {
      case REPLICATE -> {
        if (count > 0) {
          next = lastIndex + 1;
          inflights.add(lastIndex, bytes);
        }
      }
      case PROBE -> {
        if (count > 0) {
          msgAppFlowPaused = true;
        }
      }
      case SNAPSHOT ->
          throw new IllegalStateException("sending append in unhandled state " + state);
    }
  }

  /** The follower acknowledged {@code n}; returns whether match moved forward. */
  public boolean maybeUpdate(long n) {
    boolean updated = false;
    if (match < n) {
      match = n;
      updated = true;
      msgAppFlowPaused = false;
    }
    next = Math.max(next, n + 1);
    return updated;
  }

  /**
   * The follower rejected a MsgApp at {@code rejected}, hinting its log matches up to at most
   * {@code matchHint}. Returns false if the rejection is stale.
   */
  public boolean maybeDecrTo(long rejected, long matchHint) {
    if (state == ProgressState.REPLICATE) {
      if (rejected <= match) {
        return false;
      }
      next = match + 1;
      return true;
    }
    if (next - 1 != rejected) {
      return false;
    }
    next = Math.max(Math.min(rejected, matchHint + 1), match + 1);
    msgAppFlowPaused = false;
    return true;
  }

  /** Whether the leader should hold back MsgApps to this follower. */
  public boolean isPaused() {
    return switch (state) {
      case PROBE -> msgAppFlowPaused;
      case REPLICATE -> inflights.full();
      case SNAPSHOT -> true;
    };
  }

  @Override
  public String toString() {
    return state
        + " match="
        + match
        + " next="
        + next
        + (isLearner ? " learner" : "")
        + (state == ProgressState.SNAPSHOT ? " pendingSnap=" + pendingSnapshot : "")
        + (msgAppFlowPaused ? " paused" : "")
        + (inflights.count() > 0 ? " inflight=" + inflights.count() : "");
  }
}
