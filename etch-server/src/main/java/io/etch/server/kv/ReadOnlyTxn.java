package io.etch.server.kv;

import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.storage.mvcc.Compare;
import io.etch.storage.mvcc.KeyValue;
import io.etch.storage.mvcc.MvccStore;
import io.etch.storage.mvcc.RangeRequest;
import io.etch.storage.mvcc.RangeResponse;
import io.etch.storage.mvcc.ResponseHeader;
import io.etch.storage.mvcc.ResponseOp;
import io.etch.storage.mvcc.TxnResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * etcd's read-only txns: a txn whose ops (in both branches) are all ranges changes nothing, so etcd
 * answers it from the local store after a read barrier (or at once, if every range is serializable)
 * instead of proposing it through raft. Compares and ranges are evaluated at one revision, the
 * store's current one when the txn starts.
 */
final class ReadOnlyTxn {
  private ReadOnlyTxn() {}

  /** etcd's isTxnReadonly: every op of both branches is a range (a nested txn is not). */
  static boolean isReadOnly(TxnRequest t) {
    for (RequestOp op : t.getSuccessList()) {
      if (!op.hasRequestRange()) {
        return false;
      }
    }
    for (RequestOp op : t.getFailureList()) {
      if (!op.hasRequestRange()) {
        return false;
      }
    }
    return true;
  }

  /** etcd's isTxnSerializable: every range of both branches is serializable. */
  static boolean isSerializable(TxnRequest t) {
    for (RequestOp op : t.getSuccessList()) {
      if (!op.getRequestRange().getSerializable()) {
        return false;
      }
    }
    for (RequestOp op : t.getFailureList()) {
      if (!op.getRequestRange().getSerializable()) {
        return false;
      }
    }
    return true;
  }

  /** Evaluates a read-only txn on {@code store} at its current revision. */
  static TxnResponse execute(MvccStore store, io.etch.storage.mvcc.TxnRequest t) {
    long rev = store.currentRevision();
    boolean ok = true;
    for (Compare c : t.compare()) {
      if (!holds(store, c, rev)) {
        ok = false;
        break;
      }
    }
    List<ResponseOp> responses = new ArrayList<>();
    for (io.etch.storage.mvcc.RequestOp op : ok ? t.success() : t.failure()) {
      RangeRequest r = ((io.etch.storage.mvcc.RequestOp.RequestRange) op).request();
      if (r.revision() == 0) {
        r = atRevision(r, rev);
      }
      RangeResponse rr = store.range(r);
      responses.add(
          new ResponseOp.ResponseRange(
              new RangeResponse(new ResponseHeader(rev), rr.kvs(), rr.more(), rr.count())));
    }
    return new TxnResponse(new ResponseHeader(rev), ok, responses);
  }

  /** A compare holds when every live key of its range passes it (a missing key: see below). */
  private static boolean holds(MvccStore store, Compare c, long rev) {
    List<KeyValue> kvs =
        store
            .range(
                new RangeRequest(
                    c.key(), c.rangeEnd(), 0, rev, null, null, false, false, false, 0, 0, 0, 0))
            .kvs();
    if (kvs.isEmpty()) {
      // A missing key has version, create and mod revision and lease 0, but no value.
      return c.target() != Compare.CompareTarget.VALUE
          && c.matches(new KeyValue(c.key(), 0, 0, 0, null, 0));
    }
    for (KeyValue kv : kvs) {
      if (!c.matches(kv)) {
        return false;
      }
    }
    return true;
  }

  private static RangeRequest atRevision(RangeRequest r, long rev) {
    return new RangeRequest(
        r.key(),
        r.rangeEnd(),
        r.limit(),
        rev,
        r.sortOrder(),
        r.sortTarget(),
        r.serializable(),
        r.keysOnly(),
        r.countOnly(),
        r.minModRevision(),
        r.maxModRevision(),
        r.minCreateRevision(),
        r.maxCreateRevision());
  }
}
