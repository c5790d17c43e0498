package io.etch.raft.tracker;

import io.etch.raft.ConfState;
import io.etch.raft.quorum.JointConfig;
import java.util.Set;
import java.util.TreeSet;

/**
 * A configuration as the tracker holds it. Invariants (checked by the changer): learners and voters
 * are disjoint; learnersNext ⊆ outgoing voters, and only while joint.
 */
public record TrackerConfig(
    JointConfig voters, Set<Long> learners, Set<Long> learnersNext, boolean autoLeave) {

  public TrackerConfig {
    learners = Set.copyOf(learners);
    learnersNext = Set.copyOf(learnersNext);
  }

  public static TrackerConfig empty() {
    return new TrackerConfig(JointConfig.of(Set.of(), Set.of()), Set.of(), Set.of(), false);
  }

  public ConfState toConfState() {
    return new ConfState(
        voters.incoming().idSet(),
        new TreeSet<>(learners),
        voters.outgoing().idSet(),
        new TreeSet<>(learnersNext),
        autoLeave);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("voters=").append(voters);
    if (!learners.isEmpty()) {
      sb.append(" learners=").append(new TreeSet<>(learners));
    }
    if (!learnersNext.isEmpty()) {
      sb.append(" learners_next=").append(new TreeSet<>(learnersNext));
    }
    if (autoLeave) {
      sb.append(" autoleave");
    }
    return sb.toString();
  }
}
