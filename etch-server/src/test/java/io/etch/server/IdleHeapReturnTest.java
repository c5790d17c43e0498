package io.etch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class IdleHeapReturnTest {
  private long now;
  private long gcs;
  private int collected;

  private IdleHeapReturn returner() {
    return new IdleHeapReturn(
        Duration.ofSeconds(10),
        Duration.ofSeconds(60),
        () -> gcs,
        () -> now,
        () -> {
          collected++;
          gcs += 2; // a full collection shows in both collectors' counts
        });
  }

  private void advance(long seconds) {
    now += Duration.ofSeconds(seconds).toNanos();
  }

  @Test
  void collectsOnceAfterActivityIsFollowedByQuiet() {
    IdleHeapReturn r = returner();
    advance(30);
    assertFalse(r.tick(), "no collection since start: nothing to give back");
    gcs++; // a burst of work
    assertFalse(r.tick());
    advance(9);
    assertFalse(r.tick(), "quiet for 9 s only");
    advance(1);
    assertTrue(r.tick(), "quiet for 10 s after work");
    assertEquals(1, collected);
    advance(100);
    assertFalse(r.tick(), "its own collection is not activity");
    assertEquals(1, collected);
  }

  @Test
  void aBusyMemberIsNeverCollected() {
    IdleHeapReturn r = returner();
    for (int i = 0; i < 1000; i++) {
      gcs++;
      advance(5);
      assertFalse(r.tick());
    }
    assertEquals(0, collected);
  }

  @Test
  void twoCollectionsAreAtLeastTheMinimumIntervalApart() {
    IdleHeapReturn r = returner();
    gcs++;
    r.tick();
    advance(10);
    assertTrue(r.tick());
    gcs++; // more work right after
    r.tick();
    advance(10);
    assertFalse(r.tick(), "10 s after the last one, under the 60 s minimum");
    advance(49);
    assertFalse(r.tick(), "59 s after the last one (at 10 s)");
    advance(1);
    assertTrue(r.tick(), "quiet since, and 60 s after the previous one");
    assertEquals(2, collected);
  }

  @Test
  void theIdleCollectionPutsTheHeapFreeRatiosBack() {
    HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    vm.setVMOption("MaxHeapFreeRatio", "70");
    vm.setVMOption("MinHeapFreeRatio", "40");
    long before = IdleHeapReturn.collectionCount();
    int[] released = {0};
    IdleHeapReturn.collectAndLog(
        () -> {
          released[0]++;
          return "store: none";
        });
    assertEquals("40", vm.getVMOption("MinHeapFreeRatio").getValue());
    assertEquals("70", vm.getVMOption("MaxHeapFreeRatio").getValue());
    assertTrue(IdleHeapReturn.collectionCount() > before, "System.gc() ran a collection");
    assertEquals(1, released[0], "the store's native memory was released once, after it");
  }

  @Test
  void aStoreThatCannotReleaseItsMemoryDoesNotStopTheIdleCheck() {
    HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    vm.setVMOption("MaxHeapFreeRatio", "70");
    vm.setVMOption("MinHeapFreeRatio", "40");
    IdleHeapReturn.collectAndLog(
        () -> {
          throw new IllegalStateException("store closed");
        });
    assertEquals("40", vm.getVMOption("MinHeapFreeRatio").getValue());
    assertEquals("70", vm.getVMOption("MaxHeapFreeRatio").getValue());
  }

  @Test
  void aZeroIdleTimeIsRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new IdleHeapReturn(Duration.ZERO, Duration.ofSeconds(60), () -> 0, () -> 0, () -> {}));
  }
}
