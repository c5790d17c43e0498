package io.etch.server.lease;

import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.internal.InternalRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's duty (etcd's lessor {@code runLoop} and {@code revokeExpiredLeases}): follows this
 * member's raft leadership — promoting the {@link Lessor} when it becomes leader (again, in any new
 * term) and demoting it when it stops — and, while leader, proposes a LeaseRevoke through raft for
 * each expired lease, at most {@link #REVOKE_RATE} per second. Expiry is thus decided by the leader
 * alone and acted on by every member at the same log index.
 *
 * <p>Runs on its own scheduler thread; {@link #syncLeadership()} may also be called by gRPC threads
 * (a keep-alive right after an election need not wait for the next check). Guarded by {@code this}.
 */
public final class LeaseExpiry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseExpiry.class);

  /** etcd's leaseRevokeRate: revocations proposed per second at most. */
  static final int REVOKE_RATE = 1000;

  private final Lessor lessor;
  private final BooleanSupplier isLeader;
  private final LongSupplier term;
  private final Function<InternalRequest.Builder, ? extends CompletableFuture<?>> propose;
  private final long extendNanos;
  private final Duration interval;
  private final ScheduledExecutorService scheduler;

  private long promotedTerm = -1;

  /**
   * @param extend added to every lease on promotion (etcd extends by an election timeout)
   * @param interval how often leadership and expiries are checked
   */
  public LeaseExpiry(
      Lessor lessor,
      BooleanSupplier isLeader,
      LongSupplier term,
      Function<InternalRequest.Builder, ? extends CompletableFuture<?>> propose,
      Duration extend,
      Duration interval) {
    this.lessor = lessor;
    this.isLeader = isLeader;
    this.term = term;
    this.propose = propose;
    this.extendNanos = extend.toNanos();
    this.interval = interval;
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "etch-lease-expiry");
              t.setDaemon(true);
              return t;
            });
  }

  public void start() {
    long ms = interval.toMillis();
    scheduler.scheduleWithFixedDelay(this::runOnce, ms, ms, TimeUnit.MILLISECONDS);
  }

  /** Promotes or demotes the lessor to match raft's current role. */
  public synchronized void syncLeadership() {
    boolean leader = isLeader.getAsBoolean();
    long t = term.getAsLong();
    if (leader && (!lessor.isPrimary() || t != promotedTerm)) {
      lessor.promote(extendNanos);
      promotedTerm = t;
      log.info("lessor promoted: leases expire from now (term {})", t);
    } else if (!leader && lessor.isPrimary()) {
      lessor.demote();
      promotedTerm = -1;
      log.info("lessor demoted: leases no longer expire on this member");
    }
  }

  /** One check: leadership, then the expired leases' revocations (rate-limited). */
  void runOnce() {
    try {
      syncLeadership();
      if (!lessor.isPrimary()) {
        return;
      }
      int limit = (int) Math.max(1, REVOKE_RATE * interval.toMillis() / 1000);
      List<Long> expired = lessor.expired(limit);
      for (long id : expired) {
        propose
            .apply(
                InternalRequest.newBuilder()
                    .setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(id)))
            .whenComplete(
                (ok, err) -> {
                  if (err != null) {
                    // Retried after Lessor.RETRY_NANOS while the lease still exists.
                    log.debug(
                        "revoking expired lease {}: {}", Long.toHexString(id), err.toString());
                  }
                });
      }
    } catch (RuntimeException e) {
      log.warn("lease expiry check failed: {}", e.toString(), e);
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
