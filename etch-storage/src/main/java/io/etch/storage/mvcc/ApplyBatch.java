package io.etch.storage.mvcc;

import io.etch.storage.lease.LeaseRecord;
import io.etch.storage.membership.MemberRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * One RocksDB write batch of the apply thread: the changes of any number of raft entries (each put,
 * delete range or txn with changes is one write transaction with the next revision), their lease
 * and membership records, and the consistent index that covers them, written atomically by {@link
 * #commit()}. Nothing is visible to readers before the commit; operations in the batch see the
 * earlier ones.
 *
 * <p>Confined to the apply thread. An operation that fails with an {@link EtcdException} changes
 * nothing (requests are checked before their first change), so the batch stays usable. A batch
 * closed without commit after it made changes leaves the store failed (its in-memory index is ahead
 * of disk): reopen the store, as etcd panics in that case.
 */
public final class ApplyBatch implements AutoCloseable {
  private final Generation s;

  /** The RocksDB batch being built, in its serialized form (one JNI call at commit). */
  private final BatchBuffer wb;

  /**
   * Values of the puts of this batch, not yet readable from RocksDB, in revision order: the i-th
   * has revision (pendingRevs[2i], pendingRevs[2i+1]).
   */
  private long[] pendingRevs = new long[256];

  private KeyValue[] pendingValues = new KeyValue[128];
  private int pendingCount;

  private final List<Event> events = new ArrayList<>();
  private final List<CompletableFuture<Long>> compactions = new ArrayList<>();

  /** Revision of the last write transaction in this batch (the store's when none yet). */
  private long revision;

  private long compactRevision;
  private long pendingCompact;
  private long consistentIndex;
  private long term;
  private boolean changedIndex;
  private boolean done;

  /**
   * Where the changes of the write transaction in progress start in {@link #events} (they are
   * appended there directly); -1 between transactions.
   */
  private int txnStart = -1;

  ApplyBatch(Generation s) {
    this.s = s;
    this.wb = s.batchBuffer;
    wb.reset();
    this.revision = s.currentRevision;
    this.compactRevision = s.compactRevision;
    this.consistentIndex = s.consistentIndex;
    this.term = s.term;
  }

  /** The revision after the last write transaction so far in this batch. */
  public long revision() {
    return revision;
  }

  /** etcd's Range, seeing this batch's earlier changes (a range inside the apply). */
  public RangeResponse range(RangeRequest r) {
    return Ranges.execute(s, r, new WriterView(revision));
  }

  /** etcd's Put as its own write transaction. */
  public PutResponse put(PutRequest p) {
    TxnChecks.requireKey(p.key());
    if (p.ignoreValue() || p.ignoreLease()) {
      requireExisting(p.key(), revision);
    }
    beginTxn();
    try {
      PutResponse r = put0(p);
      return new PutResponse(new ResponseHeader(revision + 1), r.prevKv());
    } finally {
      endTxn();
    }
  }

  /** etcd's DeleteRange as its own write transaction (no revision if nothing is deleted). */
  public DeleteRangeResponse deleteRange(DeleteRangeRequest d) {
    TxnChecks.requireKey(d.key());
    beginTxn();
    try {
      return deleteRange0(d);
    } finally {
      endTxn();
    }
  }

  /**
   * etcd's Txn: compares (including those of nested txns on the taken path) are evaluated against
   * the state before the txn, every request on the path is checked, then the path runs; all its
   * changes share one revision. A txn without changes does not advance the revision.
   */
  public TxnResponse txn(TxnRequest t) {
    TxnChecks.validate(t, Integer.MAX_VALUE);
    long before = revision;
    WriterView at = new WriterView(before);
    List<Boolean> path = new ArrayList<>();
    decide(t, at, path);
    beginTxn();
    try {
      int[] cursor = {0};
      TxnResponse r = execute(t, path, cursor);
      long rev = txnChanges() == 0 ? before : before + 1;
      return new TxnResponse(new ResponseHeader(rev), r.succeeded(), r.responses());
    } finally {
      endTxn();
    }
  }

  /**
   * etcd's Compact at {@code rev}: from the commit on, reads below {@code rev} fail as compacted
   * and the key index is compacted; the returned future completes when the dropped revisions are
   * deleted from disk and that deletion is durable. The compact revision itself is written with
   * this batch, so it survives a restart (which resumes an unfinished deletion).
   */
  public CompletableFuture<Long> compact(long rev) {
    if (rev <= compactRevision) {
      throw new EtcdException(EtcdError.COMPACTED);
    }
    if (rev > revision) {
      throw new EtcdException(EtcdError.FUTURE_REV);
    }
    put(s.metaCf, Generation.META_SCHEDULED_COMPACT, Generation.longBytes(rev));
    compactRevision = rev;
    pendingCompact = rev;
    CompletableFuture<Long> f = new CompletableFuture<>();
    compactions.add(f);
    return f;
  }

  public void putLease(LeaseRecord lease) {
    put(s.leaseCf, Generation.longBytes(lease.id()), lease.encode());
  }

  public void deleteLease(long id) {
    delete(s.leaseCf, Generation.longBytes(id));
  }

  public void putMember(MemberRecord member) {
    put(s.membersCf, Generation.longBytes(member.id()), member.encode());
  }

  public void removeMember(long id) {
    delete(s.membersCf, Generation.longBytes(id));
  }

  /** Records alarm {@code type} (etcdserverpb.AlarmType's number) raised by member {@code id}. */
  public void putAlarm(long memberId, int type) {
    put(s.metaCf, Generation.alarmKey(memberId, type), new byte[0]);
  }

  public void deleteAlarm(long memberId, int type) {
    delete(s.metaCf, Generation.alarmKey(memberId, type));
  }

  /** Writes one auth record (the server owns the encoding; see {@link MvccStore#authRecords}). */
  public void putAuth(byte[] key, byte[] value) {
    put(s.authCf, key, value);
  }

  public void deleteAuth(byte[] key) {
    delete(s.authCf, key);
  }

  /**
   * Records that this batch covers raft entries up to {@code index} (of {@code term}); written in
   * the same RocksDB batch as the changes. Indexes only go forward: the server skips entries at or
   * below {@link MvccStore#consistentIndex()}, which is what makes re-applying after a crash exact.
   */
  public void setConsistentIndex(long index, long term) {
    if (index <= consistentIndex) {
      throw new IllegalStateException(
          "consistent index " + index + " is not past " + consistentIndex + ": already applied");
    }
    consistentIndex = index;
    this.term = term;
    put(s.metaCf, Generation.META_CONSISTENT_INDEX, Generation.longBytes(index));
    put(s.metaCf, Generation.META_TERM, Generation.longBytes(term));
  }

  /**
   * Writes the batch to RocksDB (not fsynced; see {@link MvccStore}), then publishes its revision,
   * consistent index and compaction to readers, in that order.
   */
  public Commit commit() {
    if (done) {
      throw new IllegalStateException("batch already committed or closed");
    }
    done = true;
    s.batchOpen = false;
    try (WriteBatch batch = wb.toWriteBatch()) {
      s.db().write(s.writeOptions, batch);
    } catch (RocksDBException | RuntimeException e) {
      s.failed = true;
      throw new StorageException("cannot write MVCC batch: " + e.getMessage(), e);
    } finally {
      wb.reset();
    }
    s.currentRevision = revision;
    s.term = term;
    s.consistentIndex = consistentIndex;
    if (pendingCompact > 0) {
      // Raise the compact revision before the index loses entries (MvccStore invariant 2).
      s.compactRevision = pendingCompact;
      RevisionList dropped = s.compactIndex(pendingCompact);
      List<CompletableFuture<Long>> waiting = List.copyOf(compactions);
      s.deleteCompacted(pendingCompact, dropped)
          .whenComplete(
              (rev, err) -> {
                for (CompletableFuture<Long> f : waiting) {
                  if (err != null) {
                    f.completeExceptionally(err);
                  } else {
                    f.complete(rev);
                  }
                }
              });
    }
    // No copy: nothing appends to events once the batch is done.
    return new Commit(revision, consistentIndex, java.util.Collections.unmodifiableList(events));
  }

  @Override
  public void close() {
    if (!done) {
      done = true;
      s.batchOpen = false;
      wb.reset();
      if (changedIndex) {
        s.failed = true;
      }
      for (CompletableFuture<Long> f : compactions) {
        f.cancel(false);
      }
    }
  }

  // ---------------------------------------------------------------- write transactions

  private void beginTxn() {
    if (done) {
      throw new IllegalStateException("batch already committed or closed");
    }
    txnStart = events.size();
  }

  private void endTxn() {
    if (txnChanges() > 0) {
      revision++;
    }
    txnStart = -1;
  }

  /** The revision reads inside the current write transaction see (its own changes included). */
  private long readRevision() {
    return txnStart >= 0 && txnChanges() > 0 ? revision + 1 : revision;
  }

  /** Number of changes of the write transaction in progress. */
  private int txnChanges() {
    return events.size() - txnStart;
  }

  private PutResponse put0(PutRequest p) {
    long rev = revision + 1;
    KeyIndex ki = s.lookup(p.key());
    boolean needPrev = s.options.eventPrevKv() || p.prevKv() || p.ignoreValue() || p.ignoreLease();
    KeyValue prev = ki == null || !needPrev ? null : liveAt(ki, readRevision());
    byte[] value = p.value();
    long lease = p.lease();
    if (p.ignoreValue() || p.ignoreLease()) {
      if (prev == null) {
        // Checked before the first change; reaching this is a bug, not a request error.
        throw new IllegalStateException("ignore_value/ignore_lease on a missing key passed checks");
      }
      value = p.ignoreValue() ? prev.value() : value;
      lease = p.ignoreLease() ? prev.lease() : lease;
    }
    if (ki == null) {
      ki = new KeyIndex(p.key().clone());
      s.insert(ki);
    }
    long sub = txnChanges();
    long create = ki.version == 0 ? rev : ki.createRevision;
    KeyValue kv = new KeyValue(ki.key, create, rev, ki.version + 1, value, lease);
    wb.putRevision(s.kvCfId, rev, sub, kv);
    addPending(rev, sub, kv);
    changedIndex = true;
    ki.put(rev, sub);
    s.replaceCache(ki, kv);
    events.add(new Event(Event.EventType.PUT, kv, prev));
    return new PutResponse(new ResponseHeader(rev), p.prevKv() ? prev : null);
  }

  private DeleteRangeResponse deleteRange0(DeleteRangeRequest d) {
    long rev = revision + 1;
    long at = readRevision();
    List<KeyIndex> live = new ArrayList<>();
    List<long[]> revs = new ArrayList<>();
    for (KeyIndex ki : s.keysInRange(d.key(), d.rangeEnd())) {
      KeyIndex.Entries e = ki.entries();
      int i = e.find(at);
      if (i != KeyIndex.NONE && !e.tombstone(i)) {
        live.add(ki);
        revs.add(new long[] {e.main(i), e.sub(i)});
      }
    }
    boolean needPrev = s.options.eventPrevKv() || d.prevKv();
    List<KeyValue> prevs =
        needPrev
            ? Ranges.readEach(new WriterView(at), revs)
            : java.util.Collections.nCopies(revs.size(), null);
    for (int j = 0; j < live.size(); j++) {
      KeyIndex ki = live.get(j);
      long sub = txnChanges();
      put(s.kvCf, Revision.toBytes(rev, sub, true), KeyValueCodec.encodeTombstone(ki.key));
      changedIndex = true;
      ki.tombstone(rev, sub);
      s.replaceCache(ki, null);
      events.add(
          new Event(
              Event.EventType.DELETE, new KeyValue(ki.key, 0, rev, 0, null, 0), prevs.get(j)));
    }
    long headerRev = txnChanges() == 0 ? revision : rev;
    return new DeleteRangeResponse(
        new ResponseHeader(headerRev), live.size(), d.prevKv() ? List.copyOf(prevs) : List.of());
  }

  private KeyValue liveAt(KeyIndex ki, long rev) {
    KeyIndex.Entries e = ki.entries();
    int i = e.find(rev);
    if (i == KeyIndex.NONE || e.tombstone(i)) {
      return null;
    }
    KeyValue hit = ki.cachedAt(e.main(i));
    return hit != null ? hit : read(e.main(i), e.sub(i));
  }

  private void requireExisting(byte[] key, long rev) {
    KeyIndex ki = s.lookup(key);
    if (ki == null || liveAt(ki, rev) == null) {
      throw new EtcdException(EtcdError.KEY_NOT_FOUND);
    }
  }

  /**
   * Pass 1 of a txn: walks the path the compares choose (pre-order, as execution will), records
   * each decision in {@code path}, and checks each request on it against the state before the txn
   * (etcd's checkTxn), so that a failing request fails before any change.
   */
  private void decide(TxnRequest t, WriterView at, List<Boolean> path) {
    boolean ok = true;
    for (Compare c : t.compare()) {
      if (!compare(c, at)) {
        ok = false;
        break;
      }
    }
    path.add(ok);
    for (RequestOp op : ok ? t.success() : t.failure()) {
      if (op instanceof RequestOp.RequestRange r) {
        long rev = r.request().revision();
        if (rev > at.revision()) {
          throw new EtcdException(EtcdError.FUTURE_REV);
        }
        if (rev > 0 && rev < compactRevision) {
          throw new EtcdException(EtcdError.COMPACTED);
        }
      } else if (op instanceof RequestOp.RequestPut p) {
        if (p.request().ignoreValue() || p.request().ignoreLease()) {
          requireExisting(p.request().key(), at.revision());
        }
      } else if (op instanceof RequestOp.RequestTxn n) {
        decide(n.request(), at, path);
      }
    }
  }

  /** Pass 2: runs the decided path; nested txn responses carry no header, as etcd's. */
  private TxnResponse execute(TxnRequest t, List<Boolean> path, int[] cursor) {
    boolean ok = path.get(cursor[0]++);
    List<ResponseOp> responses = new ArrayList<>();
    for (RequestOp op : ok ? t.success() : t.failure()) {
      if (op instanceof RequestOp.RequestRange r) {
        responses.add(
            new ResponseOp.ResponseRange(
                Ranges.execute(s, r.request(), new WriterView(readRevision()))));
      } else if (op instanceof RequestOp.RequestPut p) {
        responses.add(new ResponseOp.ResponsePut(put0(p.request())));
      } else if (op instanceof RequestOp.RequestDeleteRange d) {
        responses.add(new ResponseOp.ResponseDeleteRange(deleteRange0(d.request())));
      } else if (op instanceof RequestOp.RequestTxn n) {
        responses.add(new ResponseOp.ResponseTxn(execute(n.request(), path, cursor)));
      }
    }
    return new TxnResponse(new ResponseHeader(0), ok, List.copyOf(responses));
  }

  /** etcd's applyCompare: every key in the range must satisfy it; no key compares as zeroes. */
  private boolean compare(Compare c, WriterView at) {
    List<long[]> revs = new ArrayList<>();
    for (KeyIndex ki : s.keysInRange(c.key(), c.rangeEnd())) {
      KeyIndex.Entries e = ki.entries();
      int i = e.find(at.revision());
      if (i != KeyIndex.NONE && !e.tombstone(i)) {
        revs.add(new long[] {e.main(i), e.sub(i)});
      }
    }
    if (revs.isEmpty()) {
      // A missing key has version, create and mod revision and lease 0, but no value to compare.
      return c.target() != Compare.CompareTarget.VALUE
          && c.matches(new KeyValue(c.key(), 0, 0, 0, null, 0));
    }
    for (KeyValue kv : Ranges.readEach(at, revs)) {
      if (!c.matches(kv)) {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- plumbing

  /** Reads a revision as the writer sees it: this batch's pending values first. */
  private KeyValue read(long main, long sub) {
    if (main > s.currentRevision) {
      KeyValue kv = pending(main, sub);
      if (kv == null) {
        throw new IllegalStateException("revision " + main + "_" + sub + " not in this batch");
      }
      return kv;
    }
    return s.readStored(main, sub);
  }

  private void addPending(long main, long sub, KeyValue kv) {
    if (pendingCount == pendingValues.length) {
      pendingValues = java.util.Arrays.copyOf(pendingValues, pendingCount * 2);
      pendingRevs = java.util.Arrays.copyOf(pendingRevs, pendingCount * 4);
    }
    pendingRevs[2 * pendingCount] = main;
    pendingRevs[2 * pendingCount + 1] = sub;
    pendingValues[pendingCount++] = kv;
  }

  /** The value this batch put at (main, sub), or null; binary search, revisions are in order. */
  private KeyValue pending(long main, long sub) {
    int lo = 0, hi = pendingCount - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      long m = pendingRevs[2 * mid];
      int c = m != main ? Long.compare(m, main) : Long.compare(pendingRevs[2 * mid + 1], sub);
      if (c == 0) {
        return pendingValues[mid];
      } else if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return null;
  }

  /** The writer's view at a fixed revision. */
  private final class WriterView implements Ranges.View {
    private final long rev;

    WriterView(long rev) {
      this.rev = rev;
    }

    @Override
    public long revision() {
      return rev;
    }

    @Override
    public long compactRevision() {
      return compactRevision;
    }

    @Override
    public KeyValue read(long main, long sub) {
      return ApplyBatch.this.read(main, sub);
    }
  }

  private void put(org.rocksdb.ColumnFamilyHandle cf, byte[] k, byte[] v) {
    wb.put(s.cfId(cf), k, v);
  }

  private void delete(org.rocksdb.ColumnFamilyHandle cf, byte[] k) {
    wb.delete(s.cfId(cf), k);
  }
}
