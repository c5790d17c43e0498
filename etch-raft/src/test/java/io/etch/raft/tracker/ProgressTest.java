package io.etch.raft.tracker;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProgressTest {

  private static Progress progress(long match, long next) {
    return new Progress(match, next, new Inflights(2, 0), false);
  }

  @Test
  void maybeUpdateMovesMatchForwardOnlyAndUnpausesAProbe() {
    Progress pr = progress(5, 6);
    pr.sentEntries(1, 6, 1); // probe sent: paused
    assertThat(pr.isPaused()).isTrue();
    assertThat(pr.maybeUpdate(4)).isFalse(); // stale ack
    assertThat(pr.match).isEqualTo(5);
    assertThat(pr.isPaused()).isTrue();
    assertThat(pr.maybeUpdate(7)).isTrue();
    assertThat(pr.match).isEqualTo(7);
    assertThat(pr.next).isEqualTo(8);
    assertThat(pr.isPaused()).isFalse();
  }

  @Test
  void maybeUpdateNeverMovesNextBackwards() {
    Progress pr = progress(5, 10);
    pr.maybeUpdate(6);
    assertThat(pr.next).isEqualTo(10);
  }

  @Test
  void probeRejectionOfTheLastProbeUsesTheHint() {
    Progress pr = progress(0, 10);
    assertThat(pr.maybeDecrTo(9, 4)).isTrue();
    assertThat(pr.next).isEqualTo(5);
  }

  @Test
  void probeRejectionNeverGoesBelowMatchPlusOne() {
    Progress pr = progress(3, 10);
    assertThat(pr.maybeDecrTo(9, 0)).isTrue();
    assertThat(pr.next).isEqualTo(4);
  }

  @Test
  void probeRejectionHintAboveRejectedIndexIsCappedAtTheRejectedIndex() {
    Progress pr = progress(0, 10);
    assertThat(pr.maybeDecrTo(9, 100)).isTrue();
    assertThat(pr.next).isEqualTo(9);
  }

  @Test
  void staleProbeRejectionIsIgnored() {
    Progress pr = progress(0, 10);
    assertThat(pr.maybeDecrTo(5, 2)).isFalse(); // not for the probe at next-1=9
    assertThat(pr.next).isEqualTo(10);
  }

  @Test
  void probeRejectionUnpausesTheProbe() {
    Progress pr = progress(0, 10);
    pr.sentEntries(1, 10, 1);
    assertThat(pr.isPaused()).isTrue();
    pr.maybeDecrTo(9, 5);
    assertThat(pr.isPaused()).isFalse();
  }

  @Test
  void replicateRejectionAtOrBelowMatchIsStale() {
    Progress pr = progress(5, 6);
    pr.becomeReplicate();
    pr.sentEntries(3, 8, 3);
    assertThat(pr.next).isEqualTo(9);
    assertThat(pr.maybeDecrTo(5, 2)).isFalse();
    assertThat(pr.maybeDecrTo(4, 2)).isFalse();
    assertThat(pr.next).isEqualTo(9);
  }

  @Test
  void replicateRejectionAboveMatchRewindsToMatchPlusOne() {
    Progress pr = progress(5, 6);
    pr.becomeReplicate();
    pr.sentEntries(3, 8, 3);
    assertThat(pr.maybeDecrTo(7, 2)).isTrue();
    assertThat(pr.next).isEqualTo(6);
  }

  @Test
  void replicateSendsOptimisticallyUntilTheWindowIsFull() {
    Progress pr = progress(5, 6);
    pr.becomeReplicate();
    pr.sentEntries(2, 7, 2);
    assertThat(pr.next).isEqualTo(8);
    assertThat(pr.isPaused()).isFalse();
    pr.sentEntries(1, 8, 1);
    assertThat(pr.isPaused()).isTrue(); // window of 2
    pr.inflights.freeLE(7);
    assertThat(pr.isPaused()).isFalse();
  }

  @Test
  void probeSendsOneMessageThenPauses() {
    Progress pr = progress(0, 5);
    assertThat(pr.isPaused()).isFalse();
    pr.sentEntries(0, 4, 0); // an empty probe does not pause
    assertThat(pr.isPaused()).isFalse();
    pr.sentEntries(3, 7, 3);
    assertThat(pr.isPaused()).isTrue();
    assertThat(pr.next).isEqualTo(5); // probe does not move next optimistically
  }

  @Test
  void snapshotStateIsAlwaysPaused() {
    Progress pr = progress(0, 5);
    pr.becomeSnapshot(10);
    assertThat(pr.state).isEqualTo(ProgressState.SNAPSHOT);
    assertThat(pr.pendingSnapshot).isEqualTo(10);
    assertThat(pr.isPaused()).isTrue();
  }

  @Test
  void becomeProbeAfterSnapshotResumesAfterTheSnapshot() {
    Progress pr = progress(3, 4);
    pr.becomeSnapshot(10);
    pr.becomeProbe();
    assertThat(pr.state).isEqualTo(ProgressState.PROBE);
    assertThat(pr.next).isEqualTo(11);
    assertThat(pr.pendingSnapshot).isZero();
  }

  @Test
  void becomeProbeAfterAFailedSnapshotResumesAfterMatch() {
    Progress pr = progress(3, 4);
    pr.becomeSnapshot(10);
    pr.pendingSnapshot = 0; // what SNAP_STATUS with reject does
    pr.becomeProbe();
    assertThat(pr.next).isEqualTo(4);
  }

  @Test
  void becomeProbeFromReplicateRestartsAtMatchPlusOneWithAnEmptyWindow() {
    Progress pr = progress(5, 6);
    pr.becomeReplicate();
    pr.sentEntries(1, 9, 1);
    pr.becomeProbe();
    assertThat(pr.next).isEqualTo(6);
    assertThat(pr.inflights.count()).isZero();
    assertThat(pr.isPaused()).isFalse();
  }

  @Test
  void becomeReplicateStartsAfterMatch() {
    Progress pr = progress(7, 3);
    pr.becomeReplicate();
    assertThat(pr.state).isEqualTo(ProgressState.REPLICATE);
    assertThat(pr.next).isEqualTo(8);
  }
}
