package io.etch.server.maintenance;

import io.etch.server.config.EtchConfig;
import io.etch.storage.mvcc.EtcdError;
import io.etch.storage.mvcc.EtcdException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's auto-compaction ({@code server/etcdserver/api/v3compactor}): keeps a window of history and
 * compacts everything older, through raft like a client's Compact. Only the leader compacts; on
 * other members the compactor is paused (etcd pauses it on leadership loss).
 *
 * <p>The policy is a pure step function of the time it is given ({@link #step(long)}), so tests
 * drive it with a fake clock; {@link #start()} runs it on its own thread every {@link #interval()}.
 * Confined to that thread (or the test calling step).
 */
public abstract sealed class AutoCompactor implements AutoCloseable
    permits AutoCompactor.Periodic, AutoCompactor.Revision {
  private static final Logger log = LoggerFactory.getLogger(AutoCompactor.class);

  /** etcd's revision compactor checks every five minutes. */
  public static final Duration DEFAULT_REVISION_INTERVAL = Duration.ofMinutes(5);

  /** What a compactor reads and acts on. */
  public interface Target {
    /** The store's current revision. */
    long currentRevision();

    /** The store's compact revision (0 if never compacted). */
    long compactRevision();

    /** Whether this member leads (only the leader compacts). */
    boolean isLeader();

    /** Proposes a compaction to {@code revision}; completes once applied. */
    CompletableFuture<?> compact(long revision);
  }

  final Target target;
  private final LongSupplier nanoClock;
  private ScheduledExecutorService timer;

  AutoCompactor(Target target, LongSupplier nanoClock) {
    this.target = target;
    this.nanoClock = nanoClock;
  }

  /**
   * The compactor {@code --auto-compaction-mode} and {@code --auto-compaction-retention} ask for,
   * or null when auto-compaction is off (retention 0).
   *
   * @param revisionInterval how often the revision mode checks (etcd: {@link
   *     #DEFAULT_REVISION_INTERVAL})
   */
  public static AutoCompactor create(
      EtchConfig.AutoCompaction ac,
      Target target,
      Duration revisionInterval,
      LongSupplier nanoClock) {
    if (!ac.enabled()) {
      return null;
    }
    return switch (ac.mode()) {
      case "periodic" -> new Periodic(target, ac.retention(), nanoClock);
      case "revision" -> new Revision(target, ac.revisions(), revisionInterval, nanoClock);
      default -> throw new IllegalArgumentException("unknown auto-compaction mode " + ac.mode());
    };
  }

  /** How often {@link #step} runs. */
  public abstract Duration interval();

  /** One check at time {@code nowNanos}: compacts if the policy says so. */
  public abstract void step(long nowNanos);

  /** Starts checking every {@link #interval()} on a daemon thread. */
  public void start() {
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "etch-auto-compactor");
              t.setDaemon(true);
              return t;
            });
    long every = interval().toNanos();
    timer.scheduleWithFixedDelay(this::safeStep, every, every, TimeUnit.NANOSECONDS);
  }

  private void safeStep() {
    try {
      step(nanoClock.getAsLong());
    } catch (RuntimeException e) {
      log.warn("auto compaction check failed: {}", e.toString());
    }
  }

  long now() {
    return nanoClock.getAsLong();
  }

  /**
   * Compacts to {@code revision} and waits for it to be applied. A revision already compacted
   * counts as done, as in etcd.
   */
  boolean compact(long revision, String mode) {
    if (revision <= target.compactRevision()) {
      return true; // etcd would get ErrCompacted back and count it a success; skip the round trip
    }
    log.info("starting auto {} compaction at revision {}", mode, revision);
    try {
      target.compact(revision).get(1, TimeUnit.MINUTES);
      log.info("completed auto {} compaction at revision {}", mode, revision);
      return true;
    } catch (ExecutionException | CompletionException e) {
      if (e.getCause() instanceof EtcdException ee && ee.error() == EtcdError.COMPACTED) {
        return true;
      }
      log.warn(
          "failed auto {} compaction at revision {}: {}", mode, revision, e.getCause().toString());
      return false;
    } catch (TimeoutException e) {
      log.warn("auto {} compaction at revision {} timed out", mode, revision);
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
      try {
        timer.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * etcd's periodic compactor: samples the revision every {@code min(retention, 1h) / 10}; once
   * {@code retention} has passed since the start (or the last success), compacts to the oldest
   * sample, the revision that was current about {@code retention} ago, then again every {@code
   * min(retention, 1h)}. Failures retry at the next sample.
   */
  public static final class Periodic extends AutoCompactor {
    private final Duration period;
    private final Duration retryInterval;
    private final Duration compactInterval;
    private final int retentions;
    private final java.util.ArrayDeque<Long> revs = new java.util.ArrayDeque<>();
    private long lastSuccess;
    private Duration baseInterval;

    Periodic(Target target, Duration period, LongSupplier nanoClock) {
      super(target, nanoClock);
      this.period = period;
      this.compactInterval =
          period.compareTo(Duration.ofHours(1)) > 0 ? Duration.ofHours(1) : period;
      // etcd divides by 10; a millisecond floor keeps absurdly short retentions from spinning.
      Duration retry = compactInterval.dividedBy(10);
      this.retryInterval = retry.compareTo(Duration.ofMillis(1)) < 0 ? Duration.ofMillis(1) : retry;
      this.retentions = (int) (period.toNanos() / retryInterval.toNanos()) + 1;
      this.baseInterval = period;
      this.lastSuccess = now();
      sample();
    }

    @Override
    public Duration interval() {
      return retryInterval;
    }

    private void sample() {
      revs.addLast(target.currentRevision());
      if (revs.size() > retentions) {
        revs.removeFirst(); // the first is always the revision of about `period` ago
      }
    }

    @Override
    public void step(long nowNanos) {
      try {
        if (!target.isLeader()) {
          return;
        }
        if (nowNanos - lastSuccess < baseInterval.toNanos()) {
          return;
        }
        // The first compaction waits the whole retention; later ones come every interval.
        baseInterval = compactInterval;
        if (compact(revs.peekFirst(), "periodic")) {
          lastSuccess = nowNanos;
        }
      } finally {
        sample();
      }
    }
  }

  /**
   * etcd's revision compactor: every interval (etcd: 5 minutes), compacts to the current revision
   * minus {@code retention}, unless that is not positive or was the last compaction it made.
   */
  public static final class Revision extends AutoCompactor {
    private final long retention;
    private final Duration interval;
    private long previous;

    Revision(Target target, long retention, Duration interval, LongSupplier nanoClock) {
      super(target, nanoClock);
      this.retention = retention;
      this.interval = interval;
    }

    @Override
    public Duration interval() {
      return interval;
    }

    @Override
    public void step(long nowNanos) {
      if (!target.isLeader()) {
        return;
      }
      long rev = target.currentRevision() - retention;
      if (rev <= 0 || rev == previous) {
        return;
      }
      if (compact(rev, "revision")) {
        previous = rev;
      }
    }
  }
}
