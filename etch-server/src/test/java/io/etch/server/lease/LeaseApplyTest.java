package io.etch.server.lease;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.LeaseCheckpoint;
import io.etch.api.etcdserverpb.LeaseCheckpointRequest;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.internal.InternalRequest;
import io.etch.raft.Entry;
import io.etch.server.EtchStateMachine;
import io.etch.server.Wait;
import io.etch.storage.lease.LeaseRecord;
import io.etch.storage.mvcc.Event;
import io.etch.storage.mvcc.KeyValue;
import io.etch.storage.mvcc.MvccStore;
import io.etch.storage.mvcc.RangeRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lease entries through the real apply path ({@link EtchStateMachine} on a RocksDB store), several
 * entries per batch as raft delivers them: what every member does at the same log index.
 */
class LeaseApplyTest {
  @TempDir Path dir;
  MvccStore store;
  Lessor lessor;
  Wait wait;
  EtchStateMachine sm;
  final List<Event> events = new ArrayList<>();
  long index;
  long ids;

  @BeforeEach
  void open() {
    store = MvccStore.open(dir.resolve("db"));
    lessor = new Lessor(1, System::nanoTime);
    lessor.recover(store.leases(), store.leasedKeys());
    wait = new Wait();
    sm =
        new EtchStateMachine(
            store,
            wait,
            events::addAll,
            new LeaseApplier(lessor),
            new io.etch.server.cluster.Membership(java.util.Map.of(), "test", store.members()),
            new io.etch.server.auth.AuthApplier(
                new io.etch.server.auth.AuthStore(
                    store,
                    io.etch.server.config.EtchConfig.Auth.DEFAULTS,
                    System::nanoTime,
                    new java.util.Random(1),
                    id -> java.util.Set.of())),
            snap -> {
              throw new UnsupportedOperationException("no snapshots in this test");
            });
  }

  @AfterEach
  void close() {
    store.close();
  }

  void reopen() {
    store.close();
    open();
  }

  static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  static InternalRequest.Builder grant(long id, long ttl) {
    return InternalRequest.newBuilder()
        .setLeaseGrant(LeaseGrantRequest.newBuilder().setID(id).setTTL(ttl));
  }

  static InternalRequest.Builder revoke(long id) {
    return InternalRequest.newBuilder().setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(id));
  }

  static PutRequest.Builder putReq(String k, long lease) {
    return PutRequest.newBuilder().setKey(bs(k)).setValue(bs("v")).setLease(lease);
  }

  static InternalRequest.Builder put(String k, long lease) {
    return InternalRequest.newBuilder().setPut(putReq(k, lease));
  }

  /** Applies the requests as one Ready; returns each request's result. */
  @SafeVarargs
  final List<CompletableFuture<Object>> apply(InternalRequest.Builder... reqs) {
    List<Entry> entries = new ArrayList<>();
    List<CompletableFuture<Object>> results = new ArrayList<>();
    for (InternalRequest.Builder r : reqs) {
      long id = ++ids;
      results.add(wait.register(id));
      entries.add(Entry.normal(1, ++index, r.setId(id).build().toByteArray()));
    }
    sm.apply(entries);
    return results;
  }

  KeyValue get(String k) {
    List<KeyValue> kvs =
        store
            .range(
                new RangeRequest(
                    k.getBytes(StandardCharsets.UTF_8),
                    null,
                    0,
                    0,
                    null,
                    null,
                    false,
                    false,
                    false,
                    0,
                    0,
                    0,
                    0))
            .kvs();
    return kvs.isEmpty() ? null : kvs.get(0);
  }

  @Test
  void keysPutWithALeaseEarlierInTheSameBatchAreDeletedByItsRevoke() {
    long r0 = store.currentRevision();
    apply(grant(1, 10), put("a", 1), put("b", 0), put("c", 1), revoke(1), put("d", 0));
    assertThat(get("a")).isNull();
    assertThat(get("c")).isNull();
    assertThat(get("b")).isNotNull();
    assertThat(get("d")).isNotNull();
    // a, b, c at r0+1..r0+3; the revoke deletes a and c together at r0+4; d at r0+5.
    assertThat(store.currentRevision()).isEqualTo(r0 + 5);
    List<Event> deletes = events.stream().filter(e -> e.type() == Event.EventType.DELETE).toList();
    assertThat(deletes)
        .hasSize(2)
        .allSatisfy(e -> assertThat(e.kv().modRevision()).isEqualTo(r0 + 4));
    assertThat(lessor.exists(1)).isFalse();
    assertThat(store.leases()).isEmpty();
  }

  @Test
  void revokeSparesKeysThatLeftTheLeaseEarlierInTheSameBatch() {
    apply(grant(1, 10), grant(2, 10), put("a", 1), put("b", 1), put("c", 1));
    assertThat(lessor.keys(1)).hasSize(3);
    apply(
        put("a", 2),
        put("b", 0),
        InternalRequest.newBuilder()
            .setDeleteRange(DeleteRangeRequest.newBuilder().setKey(bs("c"))),
        put("c", 1),
        revoke(1));
    assertThat(get("a").lease()).isEqualTo(2);
    assertThat(get("b").lease()).isZero();
    assertThat(get("c")).isNull();
    assertThat(lessor.keys(2)).containsExactly(bs("a"));
  }

  @Test
  void putWithAnUnknownLeaseFailsAloneAndLeavesTheBatchIntact() throws Exception {
    long r0 = store.currentRevision();
    List<CompletableFuture<Object>> r = apply(put("a", 0), put("b", 77), put("c", 0));
    assertThat(r.get(0)).isCompleted();
    assertThat(r.get(1)).isCompletedExceptionally();
    assertThat(r.get(2)).isCompleted();
    assertThat(get("b")).isNull();
    assertThat(store.currentRevision()).isEqualTo(r0 + 2);
  }

  @Test
  void leaseCheckOfATxnProbesWithoutAdvancingTheRevision() {
    apply(grant(5, 10));
    long before = store.currentRevision();
    // The compare fails, so the leased put is not on the path: nothing changes, no error.
    TxnRequest t =
        TxnRequest.newBuilder()
            .addCompare(
                io.etch.api.etcdserverpb.Compare.newBuilder()
                    .setKey(bs("t"))
                    .setTarget(io.etch.api.etcdserverpb.Compare.CompareTarget.VERSION)
                    .setResult(io.etch.api.etcdserverpb.Compare.CompareResult.GREATER)
                    .setVersion(0))
            .addSuccess(RequestOp.newBuilder().setRequestPut(putReq("t", 99)))
            .addFailure(RequestOp.newBuilder().setRequestPut(putReq("t", 5)))
            .build();
    List<CompletableFuture<Object>> r = apply(InternalRequest.newBuilder().setTxn(t));
    assertThat(r.get(0)).isCompleted();
    assertThat(store.currentRevision()).isEqualTo(before + 1);
    assertThat(get("t").lease()).isEqualTo(5);
    assertThat(lessor.keys(5)).containsExactly(bs("t"));
  }

  @Test
  void grantsCheckpointsAndAttachedKeysAreRecoveredFromTheStore() {
    apply(grant(1, 10), grant(2, 20), put("a", 1), put("b", 2), put("c", 2));
    apply(
        InternalRequest.newBuilder()
            .setLeaseCheckpoint(
                LeaseCheckpointRequest.newBuilder()
                    .addCheckpoints(LeaseCheckpoint.newBuilder().setID(2).setRemainingTTL(7))
                    .addCheckpoints(LeaseCheckpoint.newBuilder().setID(3).setRemainingTTL(7))),
        revoke(1));
    reopen();
    assertThat(store.leases()).containsExactly(new LeaseRecord(2, 20, 7));
    assertThat(lessor.exists(1)).isFalse();
    assertThat(lessor.keys(2)).containsExactlyInAnyOrder(bs("b"), bs("c"));
    assertThat(get("a")).isNull();
    // Applying the same grant again fails the same way on every member: it already exists.
    assertThat(apply(grant(2, 5)).get(0)).isCompletedExceptionally();
    assertThat(lessor.ttl(2)).isEqualTo(20);
  }
}
