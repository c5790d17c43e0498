package io.etch.server.maintenance;

import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.internal.InternalRequest;
import java.util.function.LongSupplier;

/**
 * etcd's backend quota ({@code --quota-backend-bytes}): a request that adds data is admitted only
 * while the backend's size plus the request's cost stays within the quota. etcd compares bbolt's
 * file size; etch compares the store's size on disk (RocksDB's SST files plus memtables, which is
 * what deletes, compaction and defragment bring down).
 *
 * <p>Cheap on the request path: the size is read from RocksDB (a few property reads) at most once
 * per refresh interval and cached; between refreshes the check is two loads and a compare. Any
 * thread.
 */
public final class Quota {
  /** etcd's per-key overhead in its cost estimate. */
  static final int KV_OVERHEAD = 256;

  private final long quotaBytes;
  private final LongSupplier size;
  private final LongSupplier nanos;
  private final long refreshNanos;
  private volatile long cachedSize;
  private volatile long readAt;

  public Quota(long quotaBytes, LongSupplier size, LongSupplier nanos, long refreshNanos) {
    this.quotaBytes = quotaBytes;
    this.size = size;
    this.nanos = nanos;
    this.refreshNanos = refreshNanos;
    this.cachedSize = size.getAsLong();
    this.readAt = nanos.getAsLong();
  }

  /** Whether a request of this kind is refused while NOSPACE is raised (etcd's capped applier). */
  public static boolean addsData(InternalRequest.Builder r) {
    return switch (r.getRequestCase()) {
      case PUT, LEASE_GRANT -> true;
      case TXN -> hasPut(r.getTxn());
      default -> false;
    };
  }

  /** Same, for an applied request. */
  public static boolean addsData(InternalRequest r) {
    return switch (r.getRequestCase()) {
      case PUT, LEASE_GRANT -> true;
      case TXN -> hasPut(r.getTxn());
      default -> false;
    };
  }

  private static boolean hasPut(TxnRequest t) {
    for (RequestOp op : t.getSuccessList()) {
      if (op.hasRequestPut() || (op.hasRequestTxn() && hasPut(op.getRequestTxn()))) {
        return true;
      }
    }
    for (RequestOp op : t.getFailureList()) {
      if (op.hasRequestPut() || (op.hasRequestTxn() && hasPut(op.getRequestTxn()))) {
        return true;
      }
    }
    return false;
  }

  /** Whether the store has room for {@code r} (etcd's quota.Available). */
  public boolean available(InternalRequest.Builder r) {
    return currentSize() + cost(r) <= quotaBytes;
  }

  /** The store's size as last read (at most one refresh interval old). */
  public long currentSize() {
    long now = nanos.getAsLong();
    if (now - readAt >= refreshNanos) {
      readAt = now;
      cachedSize = size.getAsLong();
    }
    return cachedSize;
  }

  public long quotaBytes() {
    return quotaBytes;
  }

  static long cost(InternalRequest.Builder r) {
    return switch (r.getRequestCase()) {
      case PUT -> r.getPut().getKey().size() + r.getPut().getValue().size() + KV_OVERHEAD;
      case LEASE_GRANT -> 8 * 2 + KV_OVERHEAD;
      case TXN -> txnCost(r.getTxn());
      default -> 0;
    };
  }

  private static long txnCost(TxnRequest t) {
    long c = 0;
    for (RequestOp op : t.getSuccessList()) {
      c += opCost(op);
    }
    long f = 0;
    for (RequestOp op : t.getFailureList()) {
      f += opCost(op);
    }
    return Math.max(c, f);
  }

  private static long opCost(RequestOp op) {
    if (op.hasRequestPut()) {
      return op.getRequestPut().getKey().size()
          + op.getRequestPut().getValue().size()
          + KV_OVERHEAD;
    }
    if (op.hasRequestTxn()) {
      return txnCost(op.getRequestTxn());
    }
    return 0;
  }
}
