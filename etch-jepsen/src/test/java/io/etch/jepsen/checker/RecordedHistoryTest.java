package io.etch.jepsen.checker;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.jepsen.checker.LinearizabilityChecker.Verdict;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Sabotage on a history recorded from a real three-member cluster under partitions
 * (src/test/resources/recorded): it passes as recorded, and each planted anomaly is caught.
 */
class RecordedHistoryTest {
  final List<Op> history = History.parse(lines("recorded/history.tsv"));
  final List<WatchEvent> replay =
      lines("recorded/replay.txt").stream().map(WatchEvent::parse).toList();
  final LinearizabilityChecker checker = new LinearizabilityChecker();

  static List<String> lines(String resource) {
    try (InputStream in =
        RecordedHistoryTest.class.getClassLoader().getResourceAsStream(resource)) {
      return Arrays.asList(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n"));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  WatchChecker.Result watch(List<Op> h, List<WatchEvent> replay, List<WatchEvent> stream) {
    return WatchChecker.check(
        h, replay, List.of(new WatchChecker.Stream("recorded", "j/", 1, stream)), Map.of());
  }

  @Test
  void theRecordedHistoryPasses() {
    assertThat(history).hasSizeGreaterThan(300);
    assertThat(history).anyMatch(op -> op.outcome() == Op.Outcome.INFO);
    LinearizabilityChecker.Result r = checker.check(history);
    assertThat(r.keys()).hasSize(2);
    assertThat(r.verdict()).isEqualTo(Verdict.LINEARIZABLE);
    WatchChecker.Result w = watch(history, replay, replay);
    assertThat(w.violations()).isEmpty();
    assertThat(w.acknowledgedWrites()).isGreaterThan(150);
  }

  @Test
  void aPlantedStaleReadIsCaught() {
    List<Op> h = new ArrayList<>(history);
    // The last read of j/k0 returns a value whose put completed, and was overwritten by another
    // completed put, before the read began.
    int target = -1;
    String stale = null;
    for (int i = h.size() - 1; i >= 0 && target < 0; i--) {
      Op read = h.get(i);
      if (read.type() != Op.Type.GET
          || read.outcome() != Op.Outcome.OK
          || !read.key().equals("j/k0")) {
        continue;
      }
      for (Op a : h) {
        if (a.key().equals("j/k0")
            && a.type() == Op.Type.PUT
            && a.outcome() == Op.Outcome.OK
            && a.completeNanos() < read.invokeNanos()
            && !a.value().equals(read.read())
            && h.stream()
                .anyMatch(
                    b ->
                        b.key().equals("j/k0")
                            && b.type() == Op.Type.PUT
                            && b.outcome() == Op.Outcome.OK
                            && b.invokeNanos() > a.completeNanos()
                            && b.completeNanos() < read.invokeNanos())) {
          target = i;
          stale = a.value();
          break;
        }
      }
    }
    assertThat(target).isNotNegative();
    Op read = h.get(target);
    h.set(
        target,
        Op.get(
            read.id(),
            read.process(),
            read.key(),
            stale,
            read.invokeNanos(),
            read.completeNanos()));
    LinearizabilityChecker.Result r = checker.check(h);
    assertThat(r.verdict()).isEqualTo(Verdict.VIOLATION);
    assertThat(r.violations())
        .extracting(LinearizabilityChecker.KeyResult::key)
        .containsExactly("j/k0");
  }

  @Test
  void aSuccessfulCasRecordedAsFailedIsCaught() {
    List<Op> h = new ArrayList<>(history);
    // A cas whose new value a later read returned: had its compare failed, nobody wrote that value.
    int target = -1;
    for (int i = 0; i < h.size() && target < 0; i++) {
      Op cas = h.get(i);
      if (cas.type() == Op.Type.CAS && cas.outcome() == Op.Outcome.OK && cas.succeeded()) {
        boolean read =
            h.stream().anyMatch(g -> g.type() == Op.Type.GET && cas.value().equals(g.read()));
        if (read) {
          target = i;
        }
      }
    }
    assertThat(target).isNotNegative();
    Op cas = h.get(target);
    h.set(
        target,
        Op.cas(
            cas.id(),
            cas.process(),
            cas.key(),
            cas.expected(),
            cas.value(),
            false,
            cas.invokeNanos(),
            cas.completeNanos()));
    assertThat(checker.check(h).verdict()).isEqualTo(Verdict.VIOLATION);
    // The watch checker sees the same lie: the replay holds a write by a cas whose compare failed.
    assertThat(watch(h, replay, replay).violations()).anyMatch(v -> v.contains("compare failed"));
  }

  @Test
  void aLostAcknowledgedWriteAndAWatchGapAreCaught() {
    // Drop an acknowledged put from the middle of the replay: lost, and a gap in the stream that
    // delivered everything the (reference) replay still holds is not reported, but a stream that
    // misses an event the replay holds is.
    List<WatchEvent> lossy = new ArrayList<>(replay);
    WatchEvent dropped = lossy.remove(lossy.size() / 2);
    WatchChecker.Result lost = watch(history, lossy, lossy);
    assertThat(lost.lost()).isEqualTo(1);
    assertThat(lost.violations()).anyMatch(v -> v.startsWith("lost") && v.contains(dropped.key()));

    WatchChecker.Result gap = watch(history, replay, lossy);
    assertThat(gap.lost()).isZero();
    assertThat(gap.violations())
        .singleElement()
        .asString()
        .startsWith("gap")
        .contains(dropped.toString());

    List<WatchEvent> duplicated = new ArrayList<>(replay);
    duplicated.add(duplicated.size() / 2, duplicated.get(duplicated.size() / 2));
    assertThat(watch(history, replay, duplicated).violations())
        .anyMatch(v -> v.startsWith("duplicate"));
  }
}
