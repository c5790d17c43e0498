package io.etch.server.lease;

import com.google.protobuf.ByteString;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.storage.lease.LeaseRecord;
import io.etch.storage.mvcc.EtcdError;
import io.etch.storage.mvcc.EtcdException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A member's leases (etcd's {@code lessor}): every lease with its TTL and attached keys, and — on
 * the primary, the member that leads — its expiry. Grants, revocations and attachments change the
 * table only from the apply thread, so every member holds the same leases and keys. Expiry is the
 * primary's alone: a follower keeps every lease "forever"; on promotion each expiry restarts from
 * its full TTL (or checkpointed remaining TTL) plus an election timeout, so a leader change or a
 * restart never shortens a lease (etcd's {@code Promote}). Expired leases are only reported; they
 * are revoked by proposing a LeaseRevoke through raft ({@link LeaseExpiry}).
 *
 * <p>Concurrency: the apply thread, the expiry task and gRPC threads (keep-alive, time-to-live)
 * share this table; every field below is guarded by {@code this}, as etcd guards its lessor with
 * one mutex. No method blocks or calls out while holding the lock; a renewal of an expired lease
 * returns a future instead of waiting.
 */
public final class Lessor {
  /** etcd's MaxLeaseTTL, in seconds. */
  public static final long MAX_TTL = 9_000_000_000L;

  /** Lease ID 0 means "no lease" (etcd's NoLease). */
  public static final long NO_LEASE = 0;

  private static final long FOREVER = Long.MAX_VALUE;
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  /**
   * etcd's expiredLeaseRetryInterval: an expired lease is proposed for revocation at most this
   * often.
   */
  static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(3);

  private final long minTtl;
  private final LongSupplier nanoClock;

  private final Map<Long, Lease> leases = new HashMap<>();

  /** Expiry candidates; an item is stale when its lease is gone or was renewed past it. */
  private final PriorityQueue<Item> expiries =
      new PriorityQueue<>(Comparator.comparingLong(Item::at));

  private boolean primary;

  /** Completed (and replaced) on every demotion: renewals waiting on an expired lease give up. */
  private CompletableFuture<Void> demoted = new CompletableFuture<>();

  private record Item(long at, long id) {}

  /** Guarded by the lessor's lock. */
  private static final class Lease {
    final long id;
    final long ttl;
    long remainingTtl;
    long expiry = FOREVER;
    final Set<ByteString> keys = new HashSet<>();
    final CompletableFuture<Void> revoked = new CompletableFuture<>();

    Lease(long id, long ttl, long remainingTtl) {
      this.id = id;
      this.ttl = ttl;
      this.remainingTtl = remainingTtl;
    }
  }

  /** What a client sees of a lease: granted TTL, seconds left (truncated) and attached keys. */
  public record TimeToLive(long id, long grantedTtl, long remaining, List<ByteString> keys) {}

  /**
   * A renewal's outcome: the TTL the lease runs again for; whether a checkpoint must be cleared.
   */
  public record Renewal(long ttl, boolean clearCheckpoint) {}

  /** This member is not (or stopped being) the primary: only the leader renews leases. */
  public static final class NotPrimaryException extends RuntimeException {
    NotPrimaryException() {
      super("not the primary lessor", null, false, false);
    }
  }

  /**
   * @param minTtl etcd's minimum lease TTL in seconds ({@link #minTtl(int, long)})
   * @param nanoClock a monotonic clock in nanoseconds
   */
  public Lessor(long minTtl, LongSupplier nanoClock) {
    this.minTtl = minTtl;
    this.nanoClock = nanoClock;
  }

  /**
   * etcd's minimum TTL: a lease must outlive an election, so it is at least {@code (3 *
   * electionTicks) / 2} heartbeats, rounded up to whole seconds.
   */
  public static long minTtl(int electionTicks, long heartbeatMillis) {
    long ms = (3L * electionTicks) / 2 * heartbeatMillis;
    return (ms + 999) / 1000;
  }

  public long minTtl() {
    return minTtl;
  }

  // ---------------------------------------------------------------- apply thread

  /** Loads the persisted leases and re-attaches their keys (startup, before apply runs). */
  public synchronized void recover(List<LeaseRecord> records, Map<Long, List<byte[]>> keys) {
    leases.clear();
    expiries.clear();
    for (LeaseRecord r : records) {
      leases.put(r.id(), new Lease(r.id(), r.ttl(), r.remainingTtl()));
    }
    for (Map.Entry<Long, List<byte[]>> e : keys.entrySet()) {
      Lease l = leases.get(e.getKey());
      if (l != null) {
        for (byte[] k : e.getValue()) {
          l.keys.add(ByteString.copyFrom(k));
        }
      }
    }
  }

  /**
   * Grants a lease (etcd's {@code lessor.Grant}); returns the TTL granted, raised to the minimum.
   * Deterministic: the same table and request give the same answer on every member.
   */
  public synchronized long grant(long id, long ttl) {
    if (id == NO_LEASE) {
      throw new EtcdException(EtcdError.LEASE_NOT_FOUND);
    }
    if (ttl > MAX_TTL) {
      throw new EtcdStatusException(EtcdStatus.LEASE_TTL_TOO_LARGE);
    }
    if (leases.containsKey(id)) {
      throw new EtcdStatusException(EtcdStatus.LEASE_EXIST);
    }
    Lease l = new Lease(id, Math.max(ttl, minTtl), 0);
    leases.put(id, l);
    if (primary) {
      refresh(l, nanoClock.getAsLong(), 0);
    }
    return l.ttl;
  }

  public synchronized boolean exists(long id) {
    return leases.containsKey(id);
  }

  /** The TTL a lease was granted with; throws LEASE_NOT_FOUND for an unknown lease. */
  public synchronized long ttl(long id) {
    return require(id).ttl;
  }

  /** The keys attached to a lease (a copy). */
  public synchronized Set<ByteString> keys(long id) {
    Lease l = leases.get(id);
    return l == null ? Set.of() : Set.copyOf(l.keys);
  }

  /** Removes a lease; its keys must be deleted by the caller in the same apply. */
  public void revoke(long id) {
    Lease l;
    synchronized (this) {
      l = require(id);
      leases.remove(id);
    }
    l.revoked.complete(null); // outside the lock: waiting renewals run their callbacks
  }

  /**
   * Records a checkpointed remaining TTL (etcd's {@code lessor.Checkpoint}); unknown ids are
   * skipped.
   */
  public synchronized boolean checkpoint(long id, long remainingTtl) {
    Lease l = leases.get(id);
    if (l == null) {
      return false;
    }
    l.remainingTtl = remainingTtl;
    return true;
  }

  /** The persisted form of a lease. */
  public synchronized LeaseRecord record(long id) {
    Lease l = require(id);
    return new LeaseRecord(l.id, l.ttl, l.remainingTtl);
  }

  /**
   * Attaches a key to a lease; a no-op when the lease is gone (revoked later in the same batch).
   */
  public synchronized void attach(long id, ByteString key) {
    Lease l = leases.get(id);
    if (l != null) {
      l.keys.add(key);
    }
  }

  public synchronized void detach(long id, ByteString key) {
    Lease l = leases.get(id);
    if (l != null) {
      l.keys.remove(key);
    }
  }

  // ---------------------------------------------------------------- primary

  public synchronized boolean isPrimary() {
    return primary;
  }

  /**
   * Becomes the primary (etcd's {@code Promote}): every lease expires its full TTL (or its
   * checkpointed remaining TTL) plus {@code extendNanos} from now, so no lease is shortened by the
   * leader change that made this member primary. Renewals still waiting on an expired lease give up
   * as on a demotion: promoted again in a new term without a demotion in between, its lease would
   * no longer be expired nor revoked, and they would wait for ever.
   */
  public void promote(long extendNanos) {
    CompletableFuture<Void> was;
    synchronized (this) {
      primary = true;
      expiries.clear();
      long now = nanoClock.getAsLong();
      for (Lease l : leases.values()) {
        refresh(l, now, extendNanos);
      }
      was = demoted;
      demoted = new CompletableFuture<>();
    }
    was.complete(null);
  }

  /** Stops being the primary (etcd's {@code Demote}): no lease expires here any more. */
  public void demote() {
    CompletableFuture<Void> was;
    synchronized (this) {
      primary = false;
      expiries.clear();
      for (Lease l : leases.values()) {
        l.expiry = FOREVER;
      }
      was = demoted;
      demoted = new CompletableFuture<>();
    }
    was.complete(null);
  }

  /**
   * Up to {@code limit} leases that are past their expiry and not proposed for revocation in the
   * last {@link #RETRY_NANOS} (etcd's {@code findExpiredLeases}). Each one returned is scheduled to
   * be returned again after the retry interval, in case its revocation is lost.
   */
  public synchronized List<Long> expired(int limit) {
    List<Long> out = new ArrayList<>();
    if (!primary) {
      return out;
    }
    long now = nanoClock.getAsLong();
    Set<Long> seen = new HashSet<>();
    List<Item> retry = new ArrayList<>();
    while (out.size() < limit && !expiries.isEmpty() && expiries.peek().at() <= now) {
      Item it = expiries.poll();
      Lease l = leases.get(it.id());
      if (l == null || l.expiry > now || !seen.add(it.id())) {
        continue; // revoked, renewed since this item was queued, or a duplicate
      }
      out.add(it.id());
      retry.add(new Item(now + RETRY_NANOS, it.id()));
    }
    expiries.addAll(retry);
    return out;
  }

  // ---------------------------------------------------------------- clients

  /**
   * Renews a lease on the primary (etcd's {@code lessor.Renew}): it expires its TTL from now. A
   * lease already past its expiry is not renewed: the future waits for its revocation (then fails
   * with LEASE_NOT_FOUND) or for a demotion ({@link NotPrimaryException}).
   */
  public synchronized CompletableFuture<Renewal> renew(long id) {
    if (!primary) {
      return CompletableFuture.failedFuture(new NotPrimaryException());
    }
    Lease l = leases.get(id);
    if (l == null) {
      return CompletableFuture.failedFuture(new EtcdException(EtcdError.LEASE_NOT_FOUND));
    }
    long now = nanoClock.getAsLong();
    if (l.expiry <= now) {
      CompletableFuture<Renewal> f = new CompletableFuture<>();
      l.revoked.thenRun(
          () -> f.completeExceptionally(new EtcdException(EtcdError.LEASE_NOT_FOUND)));
      demoted.thenRun(() -> f.completeExceptionally(new NotPrimaryException()));
      return f;
    }
    boolean clear = l.remainingTtl > 0;
    l.remainingTtl = 0;
    refresh(l, now, 0);
    return CompletableFuture.completedFuture(new Renewal(l.ttl, clear));
  }

  /** The lease as a client sees it, or null if unknown. Remaining time is truncated to seconds. */
  public synchronized TimeToLive timeToLive(long id, boolean withKeys) {
    Lease l = leases.get(id);
    if (l == null) {
      return null;
    }
    long remaining =
        l.expiry == FOREVER ? FOREVER / SECOND : (l.expiry - nanoClock.getAsLong()) / SECOND;
    List<ByteString> keys = List.of();
    if (withKeys) {
      TreeSet<ByteString> sorted = new TreeSet<>(ByteString.unsignedLexicographicalComparator());
      sorted.addAll(l.keys);
      keys = List.copyOf(sorted);
    }
    return new TimeToLive(id, l.ttl, remaining, keys);
  }

  /** Every lease id, soonest expiry first (etcd's {@code Leases}). */
  public synchronized List<Long> leases() {
    List<Lease> ls = new ArrayList<>(leases.values());
    ls.sort(Comparator.<Lease>comparingLong(l -> l.expiry).thenComparingLong(l -> l.id));
    List<Long> out = new ArrayList<>(ls.size());
    for (Lease l : ls) {
      out.add(l.id);
    }
    return out;
  }

  // ---------------------------------------------------------------- internals

  private Lease require(long id) {
    Lease l = leases.get(id);
    if (l == null) {
      throw new EtcdException(EtcdError.LEASE_NOT_FOUND);
    }
    return l;
  }

  /** Sets the expiry to now + extend + (checkpointed remaining TTL, else TTL), saturating. */
  private void refresh(Lease l, long now, long extendNanos) {
    long ttl = l.remainingTtl > 0 ? l.remainingTtl : l.ttl;
    long span = ttl >= FOREVER / SECOND ? FOREVER : ttl * SECOND;
    l.expiry = saturatedAdd(saturatedAdd(now, extendNanos), span);
    expiries.add(new Item(l.expiry, l.id));
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? (r < 0 ? Long.MAX_VALUE : Long.MIN_VALUE) : r;
  }
}
