package io.etch.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.HardState;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The checker must be able to fail: each invariant is shown a fabricated violation and must name
 * it. (The end-to-end version, sabotaging a real run, is in {@link SimSabotageTest}.)
 */
class SafetyCheckerTest {
  private static Entry e(long term, long index, String data) {
    return Entry.normal(term, index, data.getBytes(StandardCharsets.UTF_8));
  }

  private static String invariantOf(Runnable r) {
    try {
      r.run();
    } catch (InvariantViolation v) {
      return v.invariant();
    }
    return "none";
  }

  @Test
  void consistentObservationsPass() {
    SafetyChecker c = new SafetyChecker();
    assertThatCode(
            () -> {
              c.onLeader(1, 2);
              c.onLeader(1, 2);
              c.onLeader(2, 3);
              c.onHardState(1, new HardState(2, 1, 0), -1);
              c.onHardState(1, new HardState(3, 0, 0), -1);
              c.onHardState(1, new HardState(3, 2, 1), 2);
              for (long node = 1; node <= 2; node++) {
                c.onApplied(node, e(2, 1, "x"));
                c.onApplied(node, e(2, 2, "y"));
              }
              c.onWriteAcked("k", 2);
              c.onReadIssued(7, "k");
              assertThat(c.onReadServed(7, 2, 2, 2)).isTrue();
              assertThat(c.onReadServed(7, 2, 2, 2)).as("served once").isFalse();
              c.onConfApplied(1, 3, ConfState.ofVoters(1L, 2L));
              c.onConfApplied(2, 3, ConfState.ofVoters(2L, 1L));
            })
        .doesNotThrowAnyException();
  }

  @Test
  void secondLeaderInOneTermIsReported() {
    SafetyChecker c = new SafetyChecker();
    c.onLeader(1, 5);
    assertThat(invariantOf(() -> c.onLeader(2, 5))).isEqualTo(SafetyChecker.LEADER_PER_TERM);
  }

  @Test
  void changedCommittedEntryIsReported() {
    SafetyChecker c = new SafetyChecker();
    c.onApplied(1, e(1, 1, "a"));
    c.onApplied(1, e(1, 2, "b"));
    c.onApplied(2, e(1, 1, "a"));
    assertThat(invariantOf(() -> c.onApplied(2, e(1, 2, "B"))))
        .isEqualTo(SafetyChecker.COMMITTED_CHANGED);
    SafetyChecker d = new SafetyChecker();
    d.onApplied(1, e(1, 1, "a"));
    assertThat(invariantOf(() -> d.onApplied(2, e(2, 1, "a"))))
        .as("same data, other term")
        .isEqualTo(SafetyChecker.COMMITTED_CHANGED);
  }

  @Test
  void commitIndexOverAnotherEntryIsReported() {
    SafetyChecker c = new SafetyChecker();
    c.onApplied(1, e(3, 1, "a"));
    assertThat(invariantOf(() -> c.onHardState(2, new HardState(4, 0, 1), 2)))
        .isEqualTo(SafetyChecker.COMMITTED_CHANGED);
  }

  @Test
  void gapOrRepeatInAppliedSequenceIsReported() {
    SafetyChecker c = new SafetyChecker();
    c.onApplied(1, e(1, 1, "a"));
    assertThat(invariantOf(() -> c.onApplied(1, e(1, 3, "c"))))
        .isEqualTo(SafetyChecker.APPLIED_PREFIX);
    SafetyChecker d = new SafetyChecker();
    d.onApplied(1, e(1, 1, "a"));
    assertThat(invariantOf(() -> d.onApplied(1, e(1, 1, "a"))))
        .isEqualTo(SafetyChecker.APPLIED_PREFIX);
  }

  @Test
  void snapshotOfAnotherHistoryIsReported() {
    SafetyChecker c = new SafetyChecker();
    long d1 = SafetyChecker.chain(0, e(1, 1, "a"));
    c.onApplied(1, e(1, 1, "a"));
    c.onApplied(1, e(1, 2, "b"));
    assertThatCode(() -> c.onSnapshotInstalled(2, 1, d1)).doesNotThrowAnyException();
    assertThat(invariantOf(() -> c.onRestart(3, 2, d1))).isEqualTo(SafetyChecker.SNAPSHOT_DIVERGES);
    assertThat(invariantOf(() -> c.onSnapshotInstalled(4, 3, 0)))
        .as("beyond anything applied")
        .isEqualTo(SafetyChecker.SNAPSHOT_DIVERGES);
    assertThat(invariantOf(() -> c.onSnapshotInstalled(2, 1, d1)))
        .as("not ahead of what the node applied")
        .isEqualTo(SafetyChecker.APPLIED_PREFIX);
  }

  @Test
  void hardStateRegressionsAreReported() {
    SafetyChecker c = new SafetyChecker();
    c.onHardState(1, new HardState(5, 2, 3), -1);
    assertThat(invariantOf(() -> c.onHardState(1, new HardState(5, 3, 3), -1)))
        .isEqualTo(SafetyChecker.VOTE_ONCE);
    assertThat(invariantOf(() -> c.onHardState(1, new HardState(4, 0, 3), -1)))
        .isEqualTo(SafetyChecker.TERM_REGRESSED);
    assertThat(invariantOf(() -> c.onHardState(1, new HardState(6, 0, 2), -1)))
        .isEqualTo(SafetyChecker.COMMIT_REGRESSED);
  }

  @Test
  void confDisagreementIsReported() {
    SafetyChecker c = new SafetyChecker();
    c.onConfApplied(1, 4, ConfState.ofVoters(1L, 2L, 3L));
    assertThat(invariantOf(() -> c.onConfApplied(2, 4, null)))
        .isEqualTo(SafetyChecker.CONF_DISAGREES);
  }

  @Test
  void readMissingAnEarlierWriteIsReported() {
    SafetyChecker c = new SafetyChecker();
    c.onWriteAcked("k", 4);
    c.onReadIssued(1, "k");
    c.onWriteAcked("k", 9); // after the read began: either value is fine
    assertThat(c.onReadServed(1, 2, 9, 4)).isTrue();
    c.onReadIssued(2, "k");
    assertThatThrownBy(() -> c.onReadServed(2, 3, 4, 4))
        .isInstanceOf(InvariantViolation.class)
        .hasMessageContaining(SafetyChecker.READ_STALE)
        .hasMessageContaining("write at index 9");
    c.onReadIssued(3, "absent");
    assertThat(c.onReadServed(3, 1, 1, 0)).as("nothing written yet").isTrue();
  }
}
