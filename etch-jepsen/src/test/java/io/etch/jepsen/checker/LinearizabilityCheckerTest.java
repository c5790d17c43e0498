package io.etch.jepsen.checker;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.jepsen.checker.LinearizabilityChecker.Limits;
import io.etch.jepsen.checker.LinearizabilityChecker.Verdict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinearizabilityCheckerTest {
  final LinearizabilityChecker checker = new LinearizabilityChecker();

  static Op info(Op op) {
    return op.asInfo();
  }

  Verdict verdict(Op... ops) {
    return checker.check(List.of(ops)).verdict();
  }

  @Test
  void sequentialHistoryIsLinearizable() {
    assertThat(
            verdict(
                Op.get(0, 0, "k", null, 0, 1),
                Op.put(1, 0, "k", "a", 2, 3),
                Op.get(2, 0, "k", "a", 4, 5),
                Op.cas(3, 0, "k", "a", "b", true, 6, 7),
                Op.cas(4, 0, "k", "a", "c", false, 8, 9),
                Op.get(5, 0, "k", "b", 10, 11),
                Op.delete(6, 0, "k", true, 12, 13),
                Op.delete(7, 0, "k", false, 14, 15),
                Op.get(8, 0, "k", null, 16, 17)))
        .isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void concurrentReadsMaySeeEitherSideOfAConcurrentWrite() {
    // put b overlaps both reads: one sees a, the later one sees b; and a read that saw b precedes
    // (in real time) nothing that contradicts it.
    assertThat(
            verdict(
                Op.put(0, 0, "k", "a", 0, 1),
                Op.put(1, 1, "k", "b", 2, 20),
                Op.get(2, 2, "k", "a", 3, 5),
                Op.get(3, 3, "k", "b", 6, 8),
                Op.get(4, 2, "k", "b", 9, 10)))
        .isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void staleReadIsAViolation() {
    LinearizabilityChecker.Result r =
        checker.check(
            List.of(
                Op.put(0, 0, "k", "a", 0, 1),
                Op.put(1, 0, "k", "b", 2, 3),
                Op.get(2, 1, "k", "a", 4, 5)));
    assertThat(r.verdict()).isEqualTo(Verdict.VIOLATION);
    assertThat(r.violations().get(0).explanation()).contains("op 2").contains("'b'");
  }

  @Test
  void readsGoingBackwardsAreAViolationEvenWhenConcurrentWithTheWrite() {
    // Both reads overlap put b, but the first saw b and the second, which began after the first
    // completed, saw a: no order explains that.
    assertThat(
            verdict(
                Op.put(0, 0, "k", "a", 0, 1),
                Op.put(1, 1, "k", "b", 2, 20),
                Op.get(2, 2, "k", "b", 3, 5),
                Op.get(3, 3, "k", "a", 6, 8)))
        .isEqualTo(Verdict.VIOLATION);
  }

  @Test
  void lostWriteIsAViolation() {
    assertThat(
            verdict(
                Op.put(0, 0, "k", "a", 0, 1),
                Op.put(1, 1, "k", "b", 2, 3),
                Op.get(2, 2, "k", "b", 4, 5),
                Op.get(3, 2, "k", null, 6, 7)))
        .isEqualTo(Verdict.VIOLATION);
  }

  @Test
  void readOfANeverWrittenValueIsAViolation() {
    assertThat(verdict(Op.put(0, 0, "k", "a", 0, 1), Op.get(1, 1, "k", "zz", 2, 3)))
        .isEqualTo(Verdict.VIOLATION);
  }

  @Test
  void readOfAFailedWriteIsAViolation() {
    assertThat(verdict(Op.put(0, 0, "k", "a", 0, 1).asFail(), Op.get(1, 1, "k", "a", 2, 3)))
        .isEqualTo(Verdict.VIOLATION);
  }

  @Test
  void casAnomaliesAreViolations() {
    // Two cas from the same expected value both succeed, one after the other.
    assertThat(
            verdict(
                Op.put(0, 0, "k", "a", 0, 1),
                Op.cas(1, 1, "k", "a", "b", true, 2, 3),
                Op.cas(2, 2, "k", "a", "c", true, 4, 5)))
        .isEqualTo(Verdict.VIOLATION);
    // A cas fails although the value was what it expected.
    assertThat(verdict(Op.put(0, 0, "k", "a", 0, 1), Op.cas(1, 1, "k", "a", "b", false, 2, 3)))
        .isEqualTo(Verdict.VIOLATION);
    // A cas succeeds on an absent key.
    assertThat(verdict(Op.cas(0, 0, "k", "a", "b", true, 0, 1))).isEqualTo(Verdict.VIOLATION);
    // A delete reports a deletion of an absent key.
    assertThat(verdict(Op.delete(0, 0, "k", true, 0, 1))).isEqualTo(Verdict.VIOLATION);
  }

  @Test
  void unknownWritesMayTakeEffectLateOrNever() {
    // put b timed out: a read long after may still see it, or not see it at all.
    assertThat(
            verdict(
                Op.put(0, 0, "k", "a", 0, 1),
                info(Op.put(1, 1, "k", "b", 2, 3)),
                Op.get(2, 2, "k", "a", 10, 11),
                Op.get(3, 2, "k", "b", 100, 101),
                Op.get(4, 2, "k", "b", 200, 201)))
        .isEqualTo(Verdict.LINEARIZABLE);
    assertThat(
            verdict(
                Op.put(0, 0, "k", "a", 0, 1),
                info(Op.put(1, 1, "k", "b", 2, 3)),
                info(Op.cas(2, 1, "k", "a", "c", false, 4, 5)),
                info(Op.delete(3, 1, "k", false, 6, 7)),
                Op.get(4, 2, "k", "a", 100, 101)))
        .isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void unknownWriteCannotTakeEffectBeforeItWasInvoked() {
    assertThat(
            verdict(
                Op.put(0, 0, "k", "a", 0, 1),
                Op.get(1, 2, "k", "b", 2, 3),
                info(Op.put(2, 1, "k", "b", 4, 5))))
        .isEqualTo(Verdict.VIOLATION);
  }

  @Test
  void unknownWriteTakesEffectOnceOnly() {
    // b is seen, then overwritten by c, then seen again: a single put cannot do that.
    assertThat(
            verdict(
                info(Op.put(0, 1, "k", "b", 0, 1)),
                Op.get(1, 2, "k", "b", 2, 3),
                Op.put(2, 2, "k", "c", 4, 5),
                Op.get(3, 2, "k", "b", 6, 7)))
        .isEqualTo(Verdict.VIOLATION);
  }

  @Test
  void keysAreCheckedIndependently() {
    LinearizabilityChecker.Result r =
        checker.check(
            List.of(
                Op.put(0, 0, "x", "a", 0, 1),
                Op.get(1, 0, "x", "a", 2, 3),
                Op.put(2, 0, "y", "a", 0, 1),
                Op.get(3, 0, "y", null, 2, 3)));
    assertThat(r.keys()).hasSize(2);
    assertThat(r.violations())
        .extracting(LinearizabilityChecker.KeyResult::key)
        .containsExactly("y");
  }

  @Test
  void generatedConcurrentHistoriesAreLinearizable() {
    for (long seed = 0; seed < 200; seed++) {
      List<Op> h = new RegisterSimulator(seed, 5, List.of("a", "b"), 0.1).run(200);
      LinearizabilityChecker.Result r = checker.check(h);
      assertThat(r.verdict())
          .as("seed %d: %s", seed, r.violations())
          .isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Test
  void thousandsOfOpsPerKeyAreCheckedQuickly() {
    List<Op> h = new RegisterSimulator(42, 10, List.of("k"), 0.05).run(5000);
    long t0 = System.nanoTime();
    LinearizabilityChecker.Result r = checker.check(h);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.verdict()).isEqualTo(Verdict.LINEARIZABLE);
    assertThat(r.ops()).isGreaterThan(3000);
    assertThat(ms).as("check time in ms").isLessThan(10_000);
  }

  @Test
  void aSearchOverItsBoundIsReportedUnknownNotPassed() {
    List<Op> h = new RegisterSimulator(7, 10, List.of("k"), 0.2).run(3000);
    LinearizabilityChecker bounded =
        new LinearizabilityChecker(new Limits(500, Duration.ofSeconds(5)));
    long t0 = System.nanoTime();
    LinearizabilityChecker.Result r = bounded.check(h);
    assertThat(System.nanoTime() - t0).isLessThan(Duration.ofSeconds(10).toNanos());
    assertThat(r.verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(r.unknowns().get(0).explanation()).contains("500 configurations");
  }

  /**
   * Sabotage: a recorded history passes; the same history with one read changed to a value that was
   * overwritten before the read began is caught.
   */
  @Test
  void plantedStaleReadInARecordedHistoryIsCaught(@TempDir Path dir) throws Exception {
    plantStaleRead(dir, new RegisterSimulator(3, 6, List.of("k"), 0).run(2000));
    // With unknown outcomes the proof of a violation explores far more configurations (each
    // unknown write may or may not have happened): a shorter history keeps it quick.
    plantStaleRead(dir, new RegisterSimulator(4, 6, List.of("k"), 0.02).run(400));
  }

  void plantStaleRead(Path dir, List<Op> recorded) throws Exception {
    Path file = dir.resolve("history.tsv");
    History.write(file, recorded);
    List<Op> h = History.read(file);
    assertThat(h).isEqualTo(recorded);
    assertThat(checker.check(h).verdict()).isEqualTo(Verdict.LINEARIZABLE);

    // Find a late OK read and a put that completed, and was then overwritten by another completed
    // put, all before the read was invoked.
    List<Op> sabotaged = new ArrayList<>(h);
    int target = -1;
    String stale = null;
    for (int i = h.size() - 1; i >= 0 && target < 0; i--) {
      Op read = h.get(i);
      if (read.type() != Op.Type.GET || read.outcome() != Op.Outcome.OK) {
        continue;
      }
      for (Op a : h) {
        if (a.type() != Op.Type.PUT
            || a.outcome() != Op.Outcome.OK
            || a.value().equals(read.read())) {
          continue;
        }
        boolean overwritten =
            h.stream()
                .anyMatch(
                    b ->
                        b.type() == Op.Type.PUT
                            && b.outcome() == Op.Outcome.OK
                            && b.invokeNanos() > a.completeNanos()
                            && b.completeNanos() < read.invokeNanos());
        if (overwritten && a.completeNanos() < read.invokeNanos()) {
          target = i;
          stale = a.value();
          break;
        }
      }
    }
    assertThat(target).isGreaterThanOrEqualTo(0);
    Op read = h.get(target);
    sabotaged.set(
        target,
        Op.get(
            read.id(),
            read.process(),
            read.key(),
            stale,
            read.invokeNanos(),
            read.completeNanos()));
    History.write(file, sabotaged);
    LinearizabilityChecker.Result r = checker.check(History.read(file));
    assertThat(r.verdict()).isEqualTo(Verdict.VIOLATION);
    assertThat(r.violations().get(0).explanation()).contains("no linearization");
  }

  @Test
  void historyLinesRoundTrip() {
    Op op = new Op(7, 2, Op.Type.CAS, "k1", "v2", "v1", Op.Outcome.OK, null, true, 42, 100, 200);
    assertThat(History.parse(History.format(op))).isEqualTo(op);
    Op unknown = op.asInfo();
    assertThat(History.format(unknown)).endsWith("\tinf");
    assertThat(History.parse(History.format(unknown))).isEqualTo(unknown);
    assertThat(Files.exists(Path.of("."))).isTrue();
  }
}
