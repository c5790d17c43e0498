package io.etch.server;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the heap back to the operating system once a member has gone quiet after a burst of work:
 * one full collection, with the heap's free-ratio bounds tightened for it, after which the serial
 * collector shrinks the heap to about its live size and unmaps the rest. Then the store gives back
 * what it holds natively (the member flushes RocksDB's memtables). Without it, the garbage a burst
 * promoted stays resident until the old generation next fills, however long the member then sits
 * idle. G1's {@code G1PeriodicGCInterval} does the same for G1; bin/etch uses the serial collector,
 * which is faster here (bench/README.md, "Memory").
 *
 * <p>Quiet is read from the collectors themselves: a member that serves requests allocates, and so
 * collects. When no collection has happened for {@code idle}, and at least one has since the last
 * full collection this class asked for, it asks for one. Two of them are at least {@code
 * minInterval} apart, so a lightly loaded member pays one pause (tens of milliseconds per 100,000
 * keys) per minute at most.
 *
 * <p>Only the program turns this on (bin/etch passes {@code -Detch.idleHeapReturnSeconds}); an
 * embedded server never collects its host's heap.
 */
final class IdleHeapReturn {
  private static final Logger log = LoggerFactory.getLogger(IdleHeapReturn.class);

  private final Duration idle;
  private final Duration minInterval;
  private final LongSupplier collections;
  private final LongSupplier nanoTime;
  private final Runnable collect;

  private long lastCount;
  private long lastChange;
  private long lastCollect;
  private boolean activity;

  IdleHeapReturn(
      Duration idle,
      Duration minInterval,
      LongSupplier collections,
      LongSupplier nanoTime,
      Runnable collect) {
    if (idle.isNegative() || idle.isZero()) {
      throw new IllegalArgumentException("idle must be positive: " + idle);
    }
    this.idle = idle;
    this.minInterval = minInterval;
    this.collections = collections;
    this.nanoTime = nanoTime;
    this.collect = collect;
    this.lastCount = collections.getAsLong();
    this.lastChange = nanoTime.getAsLong();
    this.lastCollect = lastChange - minInterval.toNanos();
  }

  /** One look at the collectors; returns whether it collected. Called about once a second. */
  boolean tick() {
    long now = nanoTime.getAsLong();
    long count = collections.getAsLong();
    if (count != lastCount) {
      lastCount = count;
      lastChange = now;
      activity = true;
      return false;
    }
    if (!activity
        || now - lastChange < idle.toNanos()
        || now - lastCollect < minInterval.toNanos()) {
      return false;
    }
    collect.run();
    lastCount = collections.getAsLong();
    lastCollect = nanoTime.getAsLong();
    activity = false;
    return true;
  }

  /**
   * Starts the check on a daemon thread when the system property {@code etch.idleHeapReturnSeconds}
   * is a positive number of seconds.
   */
  static void startFromSystemProperty(Supplier<String> releaseNative) {
    long seconds = Long.getLong("etch.idleHeapReturnSeconds", 0);
    if (seconds <= 0) {
      return;
    }
    IdleHeapReturn r =
        new IdleHeapReturn(
            Duration.ofSeconds(seconds),
            Duration.ofMinutes(1),
            IdleHeapReturn::collectionCount,
            System::nanoTime,
            () -> collectAndLog(releaseNative));
    ScheduledExecutorService ex =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread t = new Thread(task, "etch-idle-heap");
              t.setDaemon(true);
              return t;
            });
    ex.scheduleWithFixedDelay(r::tick, 1, 1, TimeUnit.SECONDS);
    log.info("returning the heap to the OS after {} s without a collection", seconds);
  }

  /** Collections so far, all collectors together. */
  static long collectionCount() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionCount());
    }
    return n;
  }

  /**
   * The free-heap bounds of the idle collection: the old generation shrinks to at most 1.05x what
   * is live, and the young one with it (a fifth of the heap with bin/etch's NewRatio 4). With 5-20
   * % the member kept ~13 MiB more at rest (bench/README.md, "Memory"). The cost: the next burst's
   * first promotions find the old generation full and run one full collection, which grows it again
   * by the member's own ratios.
   */
  private static final String IDLE_MIN_FREE = "0";

  private static final String IDLE_MAX_FREE = "5";

  /**
   * The idle collection, then {@code releaseNative}: whatever else the member gives back when idle,
   * returning a description of the native memory it still holds, for the log line.
   */
  static void collectAndLog(Supplier<String> releaseNative) {
    MemoryUsage before = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    long t0 = System.nanoTime();
    // The member runs with roomy bounds (bin/etch: 40/70 %), so that a growing heap grows in few
    // full collections; this one collection uses tight ones, then puts them back. Both flags are
    // manageable at run time; where they are not (another JVM), the collection runs as it is.
    HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    String min = null;
    String max = null;
    try {
      min = vm.getVMOption("MinHeapFreeRatio").getValue();
      max = vm.getVMOption("MaxHeapFreeRatio").getValue();
      vm.setVMOption("MinHeapFreeRatio", IDLE_MIN_FREE); // lower Min first: Min <= Max holds
      vm.setVMOption("MaxHeapFreeRatio", IDLE_MAX_FREE);
    } catch (RuntimeException e) {
      log.debug(
          "idle: heap free ratios not settable ({}); collecting with the JVM's", e.toString());
    }
    System.gc();
    if (min != null && max != null) {
      try {
        vm.setVMOption("MaxHeapFreeRatio", max); // raise Max first
        vm.setVMOption("MinHeapFreeRatio", min);
      } catch (RuntimeException e) {
        log.warn("idle: could not restore MinHeapFreeRatio={} MaxHeapFreeRatio={}", min, max, e);
      }
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    MemoryUsage after = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    String nativeMemory;
    try {
      nativeMemory = releaseNative.get();
    } catch (RuntimeException e) {
      nativeMemory = "native memory not released: " + e;
    }
    log.info(
        "idle: collected the heap in {} ms; used {} -> {} MiB, committed {} -> {} MiB; {}",
        ms,
        before.getUsed() >> 20,
        after.getUsed() >> 20,
        before.getCommitted() >> 20,
        after.getCommitted() >> 20,
        nativeMemory);
  }
}
