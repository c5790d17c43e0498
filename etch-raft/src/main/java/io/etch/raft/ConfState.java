package io.etch.raft;

import java.util.Set;

/**
 * A cluster configuration: the voters (and, while joint, the outgoing voters), the learners, and
 * the learners that become voters only when the joint configuration is left.
 */
public record ConfState(
    Set<Long> voters,
    Set<Long> learners,
    Set<Long> votersOutgoing,
    Set<Long> learnersNext,
    boolean autoLeave) {
  public static final ConfState EMPTY =
      new ConfState(Set.of(), Set.of(), Set.of(), Set.of(), false);

  public ConfState {
    voters = Set.copyOf(voters);
    learners = Set.copyOf(learners);
    votersOutgoing = Set.copyOf(votersOutgoing);
    learnersNext = Set.copyOf(learnersNext);
  }

  public static ConfState ofVoters(Long... ids) {
    return new ConfState(Set.of(ids), Set.of(), Set.of(), Set.of(), false);
  }

  public boolean isJoint() {
    return !votersOutgoing.isEmpty();
  }
}
