package io.etch.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RawNodeSmokeTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void threeNodesElectALeaderAndReplicateAProposal() {
    TestCluster c = new TestCluster(1, 1, 2, 3);
    c.node(1).campaign();
    c.stabilize();
    assertThat(c.leader()).isEqualTo(1);
    c.node(1).propose(b("x"));
    c.stabilize();
    for (long id = 1; id <= 3; id++) {
      assertThat(c.appliedData(id)).containsExactly(b("x"));
    }
  }

  @Test
  void followerForwardsProposalToLeader() {
    TestCluster c = new TestCluster(2, 1, 2, 3);
    c.node(1).campaign();
    c.stabilize();
    c.node(3).propose(b("via-follower"));
    c.stabilize();
    assertThat(c.appliedData(1)).containsExactly(b("via-follower"));
  }

  @Test
  void proposalWithoutLeaderIsDroppedWithError() {
    TestCluster c = new TestCluster(3, 1, 2, 3);
    assertThatThrownBy(() -> c.node(2).propose(b("x")))
        .isInstanceOfSatisfying(
            RaftException.class, e -> assertThat(e.error()).isEqualTo(RaftError.PROPOSAL_DROPPED));
  }

  @Test
  void electionHappensByTicks() {
    TestCluster c = new TestCluster(4, 1, 2, 3);
    c.tickAll(40);
    assertThat(c.leader()).isNotZero();
  }

  @Test
  void readIndexOnFollowerIsServedAfterHeartbeatRound() {
    TestCluster c = new TestCluster(5, 1, 2, 3);
    c.node(1).campaign();
    c.stabilize();
    c.node(1).propose(b("w"));
    c.stabilize();
    c.node(2).readIndex(b("r1"));
    c.stabilize();
    assertThat(c.reads.get(2L)).hasSize(1);
    assertThat(c.reads.get(2L).get(0).index()).isEqualTo(c.node(1).status().hardState().commit());
  }

  @Test
  void leaderTransferMovesLeadership() {
    TestCluster c = new TestCluster(6, 1, 2, 3);
    c.node(1).campaign();
    c.stabilize();
    c.node(1).transferLeader(3);
    c.stabilize();
    assertThat(c.leader()).isEqualTo(3);
  }

  @Test
  void addLearnerThenPromoteThenRemove() {
    TestCluster c = new TestCluster(7, 1, 2, 3);
    c.node(1).campaign();
    c.stabilize();
    // Node 4 starts empty and learns the configuration from the log.
    MemoryStorage s4 = new MemoryStorage();
    c.storages.put(4L, s4);
    c.nodes.put(4L, new RawNode(c.config(4, s4)));
    c.applied.put(4L, new java.util.ArrayList<>());
    c.reads.put(4L, new java.util.ArrayList<>());
    c.node(1).proposeConfChange(ConfChange.single(ConfChangeType.ADD_LEARNER_NODE, 4));
    // One change at a time: the second is refused while the first is not applied.
    assertThatThrownBy(
            () -> c.node(1).proposeConfChange(ConfChange.single(ConfChangeType.REMOVE_NODE, 3)))
        .isInstanceOfSatisfying(
            RaftException.class,
            e -> assertThat(e.error()).isEqualTo(RaftError.CONF_CHANGE_PENDING));
    c.stabilize();
    assertThat(c.node(1).status().confState().learners()).containsExactly(4L);
    c.node(1).propose(b("after-learner"));
    c.stabilize();
    assertThat(c.appliedData(4)).containsExactly(b("after-learner"));
    c.node(1).proposeConfChange(ConfChange.single(ConfChangeType.ADD_NODE, 4));
    c.stabilize();
    assertThat(c.node(1).status().confState().voters()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L);
    c.node(1).proposeConfChange(ConfChange.single(ConfChangeType.REMOVE_NODE, 2));
    c.stabilize();
    assertThat(c.node(1).status().confState().voters()).containsExactlyInAnyOrder(1L, 3L, 4L);
  }

  @Test
  void removingTheLastVoterIsRefused() {
    TestCluster c = new TestCluster(8, 1);
    c.node(1).campaign();
    c.stabilize();
    assertThat(c.leader()).isEqualTo(1);
    assertThatThrownBy(
            () -> c.node(1).proposeConfChange(ConfChange.single(ConfChangeType.REMOVE_NODE, 1)))
        .isInstanceOfSatisfying(
            RaftException.class,
            e -> {
              assertThat(e.error()).isEqualTo(RaftError.INVALID_CONF_CHANGE);
              assertThat(e.getMessage()).isEqualTo("removed all voters");
            });
    c.node(1).propose(b("still-works"));
    c.stabilize();
    assertThat(c.appliedData(1)).containsExactly(b("still-works"));
  }
}
