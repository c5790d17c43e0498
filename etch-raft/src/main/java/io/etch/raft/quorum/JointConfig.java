package io.etch.raft.quorum;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongUnaryOperator;

/**
 * Two majority configurations that must both agree (joint consensus, thesis §4.3). When not in a
 * joint configuration, {@code outgoing} is empty and only {@code incoming} decides.
 */
public record JointConfig(MajorityConfig incoming, MajorityConfig outgoing) {

  public static JointConfig of(Set<Long> incoming, Set<Long> outgoing) {
    return new JointConfig(new MajorityConfig(incoming), new MajorityConfig(outgoing));
  }

  public boolean isJoint() {
    return !outgoing.isEmpty();
  }

  public boolean contains(long id) {
    return incoming.contains(id) || outgoing.contains(id);
  }

  /** Every voter of either half. */
  public Set<Long> ids() {
    TreeSet<Long> s = new TreeSet<>(incoming.idSet());
    s.addAll(outgoing.idSet());
    return s;
  }

  /** The largest index both halves have acknowledged by majority. */
  public long committedIndex(LongUnaryOperator ackedIndex) {
    return Math.min(incoming.committedIndex(ackedIndex), outgoing.committedIndex(ackedIndex));
  }

  /** Won only if both halves are won; lost if either is lost. */
  public VoteResult voteResult(Map<Long, Boolean> votes) {
    VoteResult r1 = incoming.voteResult(votes);
    VoteResult r2 = outgoing.voteResult(votes);
    if (r1 == r2) {
      return r1;
    }
    if (r1 == VoteResult.LOST || r2 == VoteResult.LOST) {
      return VoteResult.LOST;
    }
    return VoteResult.PENDING;
  }

  @Override
  public String toString() {
    return isJoint() ? incoming + "&&" + outgoing : incoming.toString();
  }
}
