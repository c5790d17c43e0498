package io.etch.jepsen.checker;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.jepsen.checker.WatchChecker.Stream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WatchCheckerTest {
  // Revisions: 2 put k1=a, 3 put k2=b, 4 cas k1 a->c, 5 delete k2, 6 put k1=d (unknown outcome).
  final List<Op> history =
      List.of(
          Op.put(0, 0, "k1", "a", 0, 1).withRevision(2),
          Op.put(1, 1, "k2", "b", 2, 3).withRevision(3),
          Op.cas(2, 0, "k1", "a", "c", true, 4, 5).withRevision(4),
          Op.cas(3, 1, "k1", "x", "never", false, 4, 5).withRevision(4),
          Op.delete(4, 1, "k2", true, 6, 7).withRevision(5),
          Op.put(5, 2, "k1", "d", 8, 9).asInfo(),
          Op.put(6, 2, "k1", "e", 10, 11).asFail());
  final List<WatchEvent> replay =
      List.of(
          WatchEvent.put(2, "k1", "a"),
          WatchEvent.put(3, "k2", "b"),
          WatchEvent.put(4, "k1", "c"),
          WatchEvent.delete(5, "k2"),
          WatchEvent.put(6, "k1", "d"));
  final Map<String, String> finalRead = Map.of("k1", "d");

  static Stream stream(long start, List<WatchEvent> events) {
    return new Stream("s", "k", start, events);
  }

  WatchChecker.Result check(List<WatchEvent> replay, List<Stream> streams) {
    return WatchChecker.check(history, replay, streams, finalRead);
  }

  @Test
  void completeStreamsAndReplayPass() {
    WatchChecker.Result r =
        check(replay, List.of(stream(1, replay), stream(4, replay.subList(2, 5))));
    assertThat(r.violations()).isEmpty();
    assertThat(r.acknowledgedWrites()).isEqualTo(4);
    assertThat(r.lost()).isZero();
  }

  @Test
  void aStreamThatStoppedEarlyIsNotAGap() {
    assertThat(check(replay, List.of(stream(1, replay.subList(0, 2)))).ok()).isTrue();
  }

  @Test
  void aMissingEventIsAGap() {
    List<WatchEvent> events = new ArrayList<>(replay);
    events.remove(2);
    WatchChecker.Result r = check(replay, List.of(stream(1, events)));
    assertThat(r.violations()).singleElement().asString().startsWith("gap").contains("4 PUT k1=c");
  }

  @Test
  void aStreamThatSkipsItsFirstEventsIsAGap() {
    assertThat(check(replay, List.of(stream(1, replay.subList(1, 5)))).violations())
        .singleElement()
        .asString()
        .startsWith("gap");
  }

  @Test
  void duplicateAndOutOfOrderEventsAreCaught() {
    List<WatchEvent> dup = new ArrayList<>(replay);
    dup.add(3, replay.get(1)); // 2, 3, 4, 3, 5, 6
    assertThat(check(replay, List.of(stream(1, dup))).violations())
        .anyMatch(v -> v.startsWith("duplicate"))
        .anyMatch(v -> v.startsWith("order"));
  }

  @Test
  void anEventWithAnotherValueThanTheWriteIsCaught() {
    List<WatchEvent> wrong = new ArrayList<>(replay);
    wrong.set(2, WatchEvent.put(4, "k1", "a"));
    assertThat(check(replay, List.of(stream(1, wrong))).violations())
        .anyMatch(v -> v.startsWith("integrity") && v.contains("4 PUT k1=a"));
  }

  @Test
  void aLostAcknowledgedWriteIsCaught() {
    List<WatchEvent> lossy = new ArrayList<>(replay);
    lossy.remove(1); // put k2=b at 3 acknowledged, not in the replay
    WatchChecker.Result r = check(lossy, List.of());
    assertThat(r.lost()).isEqualTo(1);
    assertThat(r.violations()).anyMatch(v -> v.startsWith("lost") && v.contains("op 1"));
  }

  @Test
  void aFailedWriteThatTookEffectIsCaught() {
    List<WatchEvent> extra = new ArrayList<>(replay);
    extra.add(WatchEvent.put(7, "k1", "e"));
    assertThat(WatchChecker.check(history, extra, List.of(), Map.of("k1", "e")).violations())
        .singleElement()
        .asString()
        .contains("op 6 which failed");
  }

  @Test
  void aValueNobodyWroteAndAFailedCasTakingEffectAreCaught() {
    List<WatchEvent> extra = new ArrayList<>(replay);
    extra.add(WatchEvent.put(7, "k1", "never"));
    extra.add(WatchEvent.put(8, "k1", "zz"));
    assertThat(WatchChecker.check(history, extra, List.of(), Map.of()).violations())
        .anyMatch(v -> v.contains("compare failed"))
        .anyMatch(v -> v.contains("no client wrote"));
  }

  @Test
  void aFinalReadThatDisagreesWithTheReplayIsCaught() {
    assertThat(WatchChecker.check(history, replay, List.of(), Map.of("k1", "c")).violations())
        .singleElement()
        .asString()
        .startsWith("final-read");
  }
}
