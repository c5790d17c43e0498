package io.etch.server;

import com.google.protobuf.InvalidProtocolBufferException;
import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.internal.InternalRequest;
import io.etch.raft.ConfChange;
import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import io.etch.raft.Snapshot;
import io.etch.server.auth.AuthApplier;
import io.etch.server.cluster.ConfChangeContext;
import io.etch.server.cluster.Membership;
import io.etch.server.kv.KvMapper;
import io.etch.server.lease.LeaseApplier;
import io.etch.server.raft.StateMachine;
import io.etch.storage.mvcc.ApplyBatch;
import io.etch.storage.mvcc.Commit;
import io.etch.storage.mvcc.EtcdException;
import io.etch.storage.mvcc.Event;
import io.etch.storage.mvcc.MvccStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies committed raft entries to the MVCC store: one RocksDB write batch per Ready, the
 * consistent index (and term) of its last entry in the same batch. Results go to this member's
 * waiters only after the batch is committed (a client never sees a response before its write is
 * readable); the batch's events go to the watch hub. Confined to the apply thread.
 */
public final class EtchStateMachine implements StateMachine {
  private static final Logger log = LoggerFactory.getLogger(EtchStateMachine.class);

  private final MvccStore store;
  private final Wait wait;
  private final Consumer<List<Event>> events;
  private final LeaseApplier leases;
  private final Membership membership;
  private final Consumer<Snapshot> installer;
  private final AuthApplier auth;
  private io.etch.server.maintenance.Alarms alarms; // null: none (tests that need no alarms)
  private volatile LongConsumer commitListener = nanos -> {};

  /** The result of an applied request: the store's response and the revision it left. */
  public record Applied(Object response, long revision) {}

  public EtchStateMachine(
      MvccStore store,
      Wait wait,
      Consumer<List<Event>> events,
      LeaseApplier leases,
      Membership membership,
      AuthApplier auth,
      Consumer<Snapshot> installer) {
    this.installer = installer;
    this.store = store;
    this.wait = wait;
    this.events = events;
    this.leases = leases;
    this.membership = membership;
    this.auth = auth;
  }

  /** Applies AlarmRequests to {@code alarms} and refuses what a raised alarm forbids. */
  public void useAlarms(io.etch.server.maintenance.Alarms alarms) {
    this.alarms = alarms;
  }

  /**
   * Who is told how long each batch's RocksDB write took (etcd's {@code
   * etcd_disk_backend_commit_duration_seconds}); called on the apply thread.
   */
  public void onBackendCommit(LongConsumer listener) {
    this.commitListener = listener;
  }

  @Override
  public long appliedIndex() {
    return store.consistentIndex();
  }

  @Override
  public void restore(Snapshot snapshot) {
    installer.accept(snapshot);
  }

  @Override
  public void apply(List<Entry> entries) {
    List<Long> ids = new ArrayList<>(entries.size());
    List<Object> results = new ArrayList<>(entries.size());
    Commit commit;
    leases.beginBatch();
    try (ApplyBatch b = store.newBatch()) {
      for (Entry e : entries) {
        if (e.type() == EntryType.CONF_CHANGE) {
          // Raft's configuration is changed by the raft loop; the member records change here.
          ConfChange cc;
          try {
            cc = ConfChange.decode(e.data());
          } catch (IllegalArgumentException ex) {
            log.warn("ignored undecodable conf change at index {}: {}", e.index(), ex.getMessage());
            continue;
          }
          Object result = membership.applyConfChange(b, cc);
          long requestId = ConfChangeContext.decode(cc.context()).requestId();
          if (requestId != 0) {
            ids.add(requestId);
            results.add(result);
          }
          continue;
        }
        if (e.data().length == 0) {
          continue; // a leader's no-op carries nothing
        }
        InternalRequest req;
        try {
          req = InternalRequest.parseFrom(e.data());
        } catch (InvalidProtocolBufferException ex) {
          // Every member fails the same way on the same bytes: skip deterministically.
          log.error("skipping undecodable entry at index {}: {}", e.index(), ex.getMessage());
          continue;
        }
        Object result;
        try {
          auth.check(req); // etcd's authApplierV3: refused if checked at an older auth revision
          result = auth.handles(req) ? auth.apply(b, req, e.index()) : applyOne(b, req);
        } catch (EtcdException | EtcdStatusException ex) {
          result = ex; // a request error changes nothing and fails only its own request
        }
        ids.add(req.getId());
        results.add(result);
      }
      Entry last = entries.get(entries.size() - 1);
      b.setConsistentIndex(last.index(), last.term());
      long start = System.nanoTime();
      commit = b.commit();
      commitListener.accept(System.nanoTime() - start);
    }
    if (!commit.events().isEmpty()) {
      leases.committed(commit.events());
      events.accept(commit.events());
    }
    for (int i = 0; i < ids.size(); i++) {
      wait.trigger(ids.get(i), results.get(i));
    }
  }

  private Object applyOne(ApplyBatch b, InternalRequest req) {
    if (alarms != null && !alarms.list().isEmpty()) {
      // etcd's corrupt applier refuses everything; its capped applier (NOSPACE) what adds data.
      if (req.getRequestCase() != InternalRequest.RequestCase.ALARM
          && alarms.raised(io.etch.api.etcdserverpb.AlarmType.CORRUPT)) {
        throw new EtcdStatusException(EtcdStatus.CORRUPT);
      }
      if (alarms.raised(io.etch.api.etcdserverpb.AlarmType.NOSPACE)
          && io.etch.server.maintenance.Quota.addsData(req)) {
        throw new EtcdStatusException(EtcdStatus.NO_SPACE);
      }
    }
    return switch (req.getRequestCase()) {
      case ALARM ->
          alarms == null
              ? new IllegalArgumentException("etcdserver: alarms are not enabled")
              : new Applied(alarms.apply(b, req.getAlarm()), b.revision());
      case PUT -> {
        leases.checkPut(req.getPut());
        yield new Applied(b.put(KvMapper.put(req.getPut())), b.revision());
      }
      case DELETE_RANGE ->
          new Applied(b.deleteRange(KvMapper.deleteRange(req.getDeleteRange())), b.revision());
      case TXN -> {
        leases.checkTxn(b, req.getTxn());
        yield new Applied(b.txn(KvMapper.txn(req.getTxn())), b.revision());
      }
      case RANGE -> new Applied(b.range(KvMapper.range(req.getRange())), b.revision());
      case COMPACTION -> {
        CompactionRequest c = req.getCompaction();
        CompletableFuture<Long> physical = b.compact(c.getRevision());
        yield new Applied(physical, b.revision());
      }
      case LEASE_GRANT -> leases.grant(b, req.getLeaseGrant());
      case LEASE_REVOKE -> leases.revoke(b, req.getLeaseRevoke());
      case LEASE_CHECKPOINT -> leases.checkpoint(b, req.getLeaseCheckpoint());
      case MEMBER_ATTR_SET -> {
        membership.applyAttributes(b, req.getMemberAttrSet());
        yield new Applied(null, b.revision());
      }
      default ->
          new IllegalArgumentException(
              "etcdserver: request " + req.getRequestCase() + " is not supported yet");
    };
  }
}
