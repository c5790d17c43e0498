package io.etch.raft.confchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.raft.ConfChange.ConfChangeSingle;
import io.etch.raft.ConfChangeType;
import io.etch.raft.ConfState;
import io.etch.raft.RaftError;
import io.etch.raft.RaftException;
import io.etch.raft.tracker.ProgressTracker;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class ChangerTest {
  private final ProgressTracker trk = new ProgressTracker(4, 0);

  /** "v1 v2 l3 r4 u5" as etcd-io/raft's confchange tests write them. */
  private static List<ConfChangeSingle> ccs(String s) {
    List<ConfChangeSingle> out = new ArrayList<>();
    for (String t : s.split(" ")) {
      if (t.isEmpty()) {
        continue;
      }
      ConfChangeType type =
          switch (t.charAt(0)) {
            case 'v' -> ConfChangeType.ADD_NODE;
            case 'l' -> ConfChangeType.ADD_LEARNER_NODE;
            case 'r' -> ConfChangeType.REMOVE_NODE;
            default -> ConfChangeType.UPDATE_NODE;
          };
      out.add(new ConfChangeSingle(type, Long.parseLong(t.substring(1))));
    }
    return out;
  }

  private Changer changer() {
    return new Changer(trk, 10);
  }

  private ConfState apply(Changer.Result r) {
    trk.reset(r.config(), r.progress());
    return trk.confState();
  }

  private ConfState simple(String s) {
    return apply(changer().simple(ccs(s)));
  }

  private ConfState enterJoint(boolean autoLeave, String s) {
    return apply(changer().enterJoint(autoLeave, ccs(s)));
  }

  private ConfState leaveJoint() {
    return apply(changer().leaveJoint());
  }

  private static void assertInvalid(ThrowingCallable c, String message) {
    assertThatThrownBy(c)
        .isInstanceOfSatisfying(
            RaftException.class,
            e -> {
              assertThat(e.error()).isEqualTo(RaftError.INVALID_CONF_CHANGE);
              assertThat(e.getMessage()).isEqualTo(message);
            });
  }

  @Test
  void simpleAddsOneVoterAtATimeFromEmpty() {
    assertThat(simple("v1").voters()).containsExactly(1L);
    assertThat(simple("v2").voters()).containsExactlyInAnyOrder(1L, 2L);
    assertThat(simple("v3 u1").voters()).containsExactlyInAnyOrder(1L, 2L, 3L);
  }

  @Test
  void newMemberProgressProbesFromTheLastIndexAndCountsAsActive() {
    simple("v1");
    simple("l2");
    assertThat(trk.progress(2).next).isEqualTo(10);
    assertThat(trk.progress(2).match).isZero();
    assertThat(trk.progress(2).recentActive).isTrue();
    assertThat(trk.progress(2).isLearner).isTrue();
  }

  @Test
  void simpleRefusesChangingTwoVoters() {
    simple("v1");
    assertInvalid(
        () -> changer().simple(ccs("v2 v3")),
        "more than one voter changed without entering joint config");
    simple("v2");
    assertInvalid(
        () -> changer().simple(ccs("r1 r2 v3")),
        "more than one voter changed without entering joint config");
  }

  @Test
  void simpleAllowsALearnerChangeAlongsideOneVoter() {
    simple("v1");
    ConfState cs = simple("v2 l3");
    assertThat(cs.voters()).containsExactlyInAnyOrder(1L, 2L);
    assertThat(cs.learners()).containsExactly(3L);
  }

  @Test
  void promotingALearnerAndDemotingAVoterInSimpleMode() {
    simple("v1");
    simple("l2");
    ConfState cs = simple("v2");
    assertThat(cs.voters()).containsExactlyInAnyOrder(1L, 2L);
    assertThat(cs.learners()).isEmpty();
    assertThat(trk.progress(2).isLearner).isFalse();
    cs = simple("l2");
    assertThat(cs.voters()).containsExactly(1L);
    assertThat(cs.learners()).containsExactly(2L);
  }

  @Test
  void removingTheLastVoterIsRefused() {
    simple("v1");
    assertInvalid(() -> changer().simple(ccs("r1")), "removed all voters");
    assertInvalid(() -> changer().simple(ccs("l1")), "removed all voters");
  }

  @Test
  void removingAnUnknownNodeAndTheZeroIdChangeNothing() {
    simple("v1");
    ConfState cs = simple("r7 v0 r0");
    assertThat(cs.voters()).containsExactly(1L);
    assertThat(trk.progressMap()).containsOnlyKeys(1L);
  }

  @Test
  void aRefusedChangeLeavesTheTrackerUntouched() {
    simple("v1");
    simple("v2");
    long nextBefore = trk.progress(2).next;
    assertThatThrownBy(() -> changer().simple(ccs("r1 r2"))).isInstanceOf(RaftException.class);
    assertThat(trk.confState().voters()).containsExactlyInAnyOrder(1L, 2L);
    assertThat(trk.progress(2).next).isEqualTo(nextBefore);
  }

  @Test
  void enterJointCopiesVotersToTheOutgoingHalf() {
    simple("v1");
    simple("v2");
    simple("v3");
    ConfState cs = enterJoint(true, "r1 v4 v5");
    assertThat(cs.voters()).containsExactlyInAnyOrder(2L, 3L, 4L, 5L);
    assertThat(cs.votersOutgoing()).containsExactlyInAnyOrder(1L, 2L, 3L);
    assertThat(cs.autoLeave()).isTrue();
    // 1 left the incoming half but still votes in the outgoing half: its progress stays.
    assertThat(trk.progressMap()).containsKey(1L);
  }

  @Test
  void enterJointRefusesWhenAlreadyJointOrEmpty() {
    assertInvalid(
        () -> changer().enterJoint(false, ccs("v1")), "can't make a zero-voter config joint");
    simple("v1");
    enterJoint(false, "v2");
    assertInvalid(() -> changer().enterJoint(false, ccs("v3")), "config is already joint");
  }

  @Test
  void enterJointRefusesRemovingAllIncomingVoters() {
    simple("v1");
    assertInvalid(() -> changer().enterJoint(false, ccs("r1")), "removed all voters");
  }

  @Test
  void simpleChangeWhileJointIsRefused() {
    simple("v1");
    enterJoint(false, "v2");
    assertInvalid(
        () -> changer().simple(ccs("v3")), "can't apply simple config change in joint config");
  }

  @Test
  void leaveJointWhenNotJointIsRefused() {
    simple("v1");
    assertInvalid(() -> changer().leaveJoint(), "can't leave a non-joint config");
  }

  @Test
  void leaveJointDropsOutgoingOnlyVotersAndClearsAutoLeave() {
    simple("v1");
    simple("v2");
    enterJoint(true, "r1 v3");
    ConfState cs = leaveJoint();
    assertThat(cs.voters()).containsExactlyInAnyOrder(2L, 3L);
    assertThat(cs.votersOutgoing()).isEmpty();
    assertThat(cs.autoLeave()).isFalse();
    assertThat(trk.progressMap()).containsOnlyKeys(2L, 3L);
  }

  @Test
  void demotingAVoterWhileJointStagesItInLearnersNext() {
    simple("v1");
    simple("v2");
    simple("v3");
    ConfState cs = enterJoint(false, "l3");
    assertThat(cs.voters()).containsExactlyInAnyOrder(1L, 2L);
    assertThat(cs.votersOutgoing()).containsExactlyInAnyOrder(1L, 2L, 3L);
    assertThat(cs.learners()).isEmpty();
    assertThat(cs.learnersNext()).containsExactly(3L);
    assertThat(trk.progress(3).isLearner).isFalse(); // still votes in the outgoing half
    cs = leaveJoint();
    assertThat(cs.voters()).containsExactlyInAnyOrder(1L, 2L);
    assertThat(cs.learners()).containsExactly(3L);
    assertThat(cs.learnersNext()).isEmpty();
    assertThat(trk.progress(3).isLearner).isTrue();
  }

  @Test
  void addingALearnerThatIsNotAnOutgoingVoterWhileJointIsImmediate() {
    simple("v1");
    ConfState cs = enterJoint(false, "v2 l3");
    assertThat(cs.learners()).containsExactly(3L);
    assertThat(cs.learnersNext()).isEmpty();
  }

  @Test
  void reAddingAStagedLearnerAsVoterUnstagesIt() {
    simple("v1");
    simple("v2");
    enterJoint(false, "l2 v2");
    ConfState cs = trk.confState();
    assertThat(cs.voters()).containsExactlyInAnyOrder(1L, 2L);
    assertThat(cs.learnersNext()).isEmpty();
    assertThat(cs.learners()).isEmpty();
  }

  @Test
  void stagedLearnerBecomesALearnerAtLeaveAndCanThenBeRemoved() {
    simple("v1");
    simple("v2");
    enterJoint(false, "l2");
    ConfState cs = leaveJoint();
    assertThat(cs.learners()).containsExactly(2L);
    simple("r2");
    assertThat(trk.progressMap()).containsOnlyKeys(1L);
  }

  @Test
  void restoreRebuildsAJointConfigurationWithStagedLearners() {
    ConfState cs = new ConfState(Set.of(1L, 2L), Set.of(4L), Set.of(1L, 2L, 3L), Set.of(3L), true);
    Changer.Result r = Changer.restore(cs, 20, trk);
    trk.reset(r.config(), r.progress());
    assertThat(trk.confState()).isEqualTo(cs);
    assertThat(trk.progressMap()).containsOnlyKeys(1L, 2L, 3L, 4L);
    assertThat(trk.progress(4).isLearner).isTrue();
    assertThat(trk.progress(3).isLearner).isFalse();
    assertThat(trk.progress(1).next).isEqualTo(20);
  }

  @Test
  void restoreOfAnEmptyConfStateGivesAnEmptyTracker() {
    Changer.Result r = Changer.restore(ConfState.EMPTY, 0, trk);
    assertThat(r.progress()).isEmpty();
    assertThat(r.config().voters().ids()).isEmpty();
  }

  @Test
  void restoreRefusesInconsistentConfStates() {
    assertInvalid(
        () ->
            Changer.restore(
                new ConfState(Set.of(1L), Set.of(1L), Set.of(), Set.of(), false), 1, trk),
        "1 is in learners and voters");
    assertInvalid(
        () ->
            Changer.restore(
                new ConfState(Set.of(1L), Set.of(), Set.of(), Set.of(2L), false), 1, trk),
        "2 is in learners_next but not in the outgoing voters");
    assertInvalid(
        () ->
            Changer.restore(new ConfState(Set.of(1L), Set.of(), Set.of(), Set.of(), true), 1, trk),
        "learners_next or autoleave set outside a joint config");
  }
}
