package io.etch.raft.quorum;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class JointConfigTest {
  private final JointConfig joint = JointConfig.of(Set.of(1L, 2L, 3L), Set.of(3L, 4L, 5L));

  @Test
  void notJointBehavesLikeItsIncomingHalf() {
    JointConfig c = JointConfig.of(Set.of(1L, 2L, 3L), Set.of());
    assertThat(c.isJoint()).isFalse();
    assertThat(c.committedIndex(id -> id * 10)).isEqualTo(20);
    assertThat(c.voteResult(Map.of(1L, true, 2L, true))).isEqualTo(VoteResult.WON);
  }

  @Test
  void committedIndexIsTheMinimumOfBothHalves() {
    // incoming (1 2 3) acks 10 20 30 -> 20; outgoing (3 4 5) acks 30 4 5 -> 5
    Map<Long, Long> acked = Map.of(1L, 10L, 2L, 20L, 3L, 30L, 4L, 4L, 5L, 5L);
    assertThat(joint.committedIndex(acked::get)).isEqualTo(5);
    Map<Long, Long> acked2 = Map.of(1L, 1L, 2L, 2L, 3L, 30L, 4L, 40L, 5L, 50L);
    assertThat(joint.committedIndex(acked2::get)).isEqualTo(2);
  }

  @Test
  void electionNeedsMajoritiesOfBothHalves() {
    assertThat(joint.voteResult(Map.of(1L, true, 2L, true))).isEqualTo(VoteResult.PENDING);
    assertThat(joint.voteResult(Map.of(1L, true, 2L, true, 4L, true)))
        .isEqualTo(VoteResult.PENDING);
    assertThat(joint.voteResult(Map.of(1L, true, 3L, true, 4L, true))).isEqualTo(VoteResult.WON);
  }

  @Test
  void electionIsLostWhenEitherHalfIsLost() {
    // incoming won (1 2), outgoing lost (4 5 refuse)
    assertThat(joint.voteResult(Map.of(1L, true, 2L, true, 4L, false, 5L, false)))
        .isEqualTo(VoteResult.LOST);
    // incoming lost, outgoing pending
    assertThat(joint.voteResult(Map.of(1L, false, 2L, false))).isEqualTo(VoteResult.LOST);
  }

  @Test
  void idsAreTheUnionOfBothHalves() {
    assertThat(joint.ids()).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(joint.contains(5)).isTrue();
    assertThat(joint.contains(6)).isFalse();
  }
}
