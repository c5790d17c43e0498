package io.etch.server.lease;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.LeaseCheckpoint;
import io.etch.api.etcdserverpb.LeaseCheckpointRequest;
import io.etch.api.etcdserverpb.LeaseCheckpointResponse;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrantResponse;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.LeaseRevokeResponse;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.server.EtchStateMachine.Applied;
import io.etch.server.kv.KvMapper;
import io.etch.storage.mvcc.ApplyBatch;
import io.etch.storage.mvcc.DeleteRangeRequest;
import io.etch.storage.mvcc.EtcdError;
import io.etch.storage.mvcc.EtcdException;
import io.etch.storage.mvcc.Event;
import io.etch.storage.mvcc.KeyValue;
import io.etch.storage.mvcc.RangeRequest;
import io.etch.storage.mvcc.ResponseOp;
import io.etch.storage.mvcc.TxnResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The lease side of apply: LeaseGrant, LeaseRevoke and LeaseCheckpoint entries, the "requested
 * lease not found" check of puts (etcd's {@code checkRequestPut}, on the path a txn takes), and
 * keeping each lease's attached keys in step with the committed changes.
 *
 * <p>Attachments are derived from the committed events (a put moves a key to its new lease, a
 * delete detaches it), so they follow every way a key changes — put, delete range, txn, revoke.
 * Within a batch the events are not visible until commit, so a revoke also considers the keys put
 * with its lease earlier in the same batch, and deletes each candidate whose live version still
 * carries the lease: all of them in one write transaction, one revision.
 *
 * <p>Confined to the apply thread.
 */
public final class LeaseApplier {
  private static final byte[] NO_END = new byte[0];

  private final Lessor lessor;

  /** Keys put with a lease by entries of the current batch, by lease id. */
  private final Map<Long, Set<ByteString>> putInBatch = new HashMap<>();

  public LeaseApplier(Lessor lessor) {
    this.lessor = lessor;
  }

  /** Starts a batch: keys put by earlier batches are known to the lessor from their events. */
  public void beginBatch() {
    putInBatch.clear();
  }

  /** Rejects a put naming a lease that does not exist. */
  public void checkPut(PutRequest p) {
    if (p.getLease() != Lessor.NO_LEASE) {
      requireLease(p.getLease(), p.getKey());
    }
  }

  /**
   * Rejects a txn whose taken path puts with a lease that does not exist. The path is found by a
   * read-only probe with the same compares (and nested txns) in the batch, so it is decided exactly
   * as the store will decide it; a txn without leased puts skips the probe.
   */
  public void checkTxn(ApplyBatch b, TxnRequest t) {
    if (!hasLeasedPut(t)) {
      return;
    }
    TxnResponse taken = b.txn(probe(KvMapper.txn(t)));
    checkPath(t, taken);
  }

  public Applied grant(ApplyBatch b, LeaseGrantRequest r) {
    long ttl = lessor.grant(r.getID(), r.getTTL());
    b.putLease(lessor.record(r.getID()));
    return new Applied(
        LeaseGrantResponse.newBuilder().setID(r.getID()).setTTL(ttl).build(), b.revision());
  }

  /** etcd's {@code lessor.Revoke}: the attached keys go in one revision, then the lease. */
  public Applied revoke(ApplyBatch b, LeaseRevokeRequest r) {
    long id = r.getID();
    if (!lessor.exists(id)) {
      throw new EtcdException(EtcdError.LEASE_NOT_FOUND);
    }
    // Sorted, as etcd sorts them, so every member writes the same sub-revisions.
    TreeSet<ByteString> candidates = new TreeSet<>(ByteString.unsignedLexicographicalComparator());
    candidates.addAll(lessor.keys(id));
    candidates.addAll(putInBatch.getOrDefault(id, Set.of()));
    List<io.etch.storage.mvcc.RequestOp> deletes = new ArrayList<>();
    for (ByteString key : candidates) {
      byte[] k = key.toByteArray();
      List<KeyValue> live = b.range(single(k)).kvs();
      if (!live.isEmpty() && live.get(0).lease() == id) {
        deletes.add(
            new io.etch.storage.mvcc.RequestOp.RequestDeleteRange(
                new DeleteRangeRequest(k, NO_END, false)));
      }
    }
    if (!deletes.isEmpty()) {
      b.txn(new io.etch.storage.mvcc.TxnRequest(List.of(), deletes, List.of()));
    }
    b.deleteLease(id);
    lessor.revoke(id);
    putInBatch.remove(id);
    return new Applied(LeaseRevokeResponse.getDefaultInstance(), b.revision());
  }

  /** Records remaining TTLs; unknown leases are skipped, as etcd skips them. */
  public Applied checkpoint(ApplyBatch b, LeaseCheckpointRequest r) {
    for (LeaseCheckpoint c : r.getCheckpointsList()) {
      if (lessor.checkpoint(c.getID(), c.getRemainingTTL())) {
        b.putLease(lessor.record(c.getID()));
      }
    }
    return new Applied(LeaseCheckpointResponse.getDefaultInstance(), b.revision());
  }

  /** After the batch committed: moves keys between leases as its events say. */
  public void committed(List<Event> events) {
    for (Event e : events) {
      long before = e.prevKv() == null ? Lessor.NO_LEASE : e.prevKv().lease();
      long after = e.type() == Event.EventType.PUT ? e.kv().lease() : Lessor.NO_LEASE;
      if (before == after) {
        continue;
      }
      ByteString key = ByteString.copyFrom(e.kv().key());
      if (before != Lessor.NO_LEASE) {
        lessor.detach(before, key);
      }
      if (after != Lessor.NO_LEASE) {
        lessor.attach(after, key);
      }
    }
  }

  // ---------------------------------------------------------------- internals

  private void requireLease(long id, ByteString key) {
    if (!lessor.exists(id)) {
      throw new EtcdException(EtcdError.LEASE_NOT_FOUND);
    }
    putInBatch.computeIfAbsent(id, x -> new HashSet<>()).add(key);
  }

  private void checkPath(TxnRequest t, TxnResponse taken) {
    int nested = 0;
    for (RequestOp op : taken.succeeded() ? t.getSuccessList() : t.getFailureList()) {
      switch (op.getRequestCase()) {
        case REQUEST_PUT -> checkPut(op.getRequestPut());
        case REQUEST_TXN -> {
          ResponseOp.ResponseTxn r = (ResponseOp.ResponseTxn) taken.responses().get(nested++);
          checkPath(op.getRequestTxn(), r.response());
        }
        default -> {}
      }
    }
  }

  private static boolean hasLeasedPut(TxnRequest t) {
    for (List<RequestOp> branch : List.of(t.getSuccessList(), t.getFailureList())) {
      for (RequestOp op : branch) {
        if ((op.hasRequestPut() && op.getRequestPut().getLease() != Lessor.NO_LEASE)
            || (op.hasRequestTxn() && hasLeasedPut(op.getRequestTxn()))) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The same compares and nested txns without any other request: decides the path, changes nothing.
   */
  private static io.etch.storage.mvcc.TxnRequest probe(io.etch.storage.mvcc.TxnRequest t) {
    return new io.etch.storage.mvcc.TxnRequest(
        t.compare(), nestedOnly(t.success()), nestedOnly(t.failure()));
  }

  private static List<io.etch.storage.mvcc.RequestOp> nestedOnly(
      List<io.etch.storage.mvcc.RequestOp> ops) {
    List<io.etch.storage.mvcc.RequestOp> out = new ArrayList<>();
    for (io.etch.storage.mvcc.RequestOp op : ops) {
      if (op instanceof io.etch.storage.mvcc.RequestOp.RequestTxn n) {
        out.add(new io.etch.storage.mvcc.RequestOp.RequestTxn(probe(n.request())));
      }
    }
    return out;
  }

  private static RangeRequest single(byte[] key) {
    return new RangeRequest(
        key,
        NO_END,
        0,
        0,
        RangeRequest.SortOrder.NONE,
        RangeRequest.SortTarget.KEY,
        false,
        false,
        false,
        0,
        0,
        0,
        0);
  }
}
