package io.etch.server.lease;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etch.api.etcdserverpb.Compare;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrantResponse;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.LeaseKeepAliveRequest;
import io.etch.api.etcdserverpb.LeaseLeasesRequest;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.LeaseStatus;
import io.etch.api.etcdserverpb.LeaseTimeToLiveRequest;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.etcdserverpb.TxnResponse;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Lease service over a real socket against a one-member etch, through jetcd and, where jetcd
 * has no call for it (client-chosen ids, Leases, ignore_lease), etcd's raw gRPC API. The member
 * ticks every 10 ms with a 100 ms election timeout, so etcd's minimum TTL rule gives 1 s leases.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LeaseJetcdTest {
  @TempDir static Path dir;
  int port;
  EtchServer server;
  Client client;
  KV kv;
  Lease lease;
  ManagedChannel channel;
  LeaseGrpc.LeaseBlockingStub leaseStub;
  KVGrpc.KVBlockingStub kvStub;

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  @BeforeAll
  void startServer() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    start();
  }

  void start() throws Exception {
    EtchConfig c =
        EtchConfig.parse(
            new String[] {
              "--data-dir=" + dir.resolve("data"),
              "--listen-client-urls=http://127.0.0.1:" + port,
              "--listen-peer-urls=http://127.0.0.1:0",
              "--heartbeat-interval=10",
              "--election-timeout=100"
            },
            Map.of());
    server = EtchServer.start(c);
    client = Client.builder().endpoints("http://127.0.0.1:" + port).build();
    kv = client.getKVClient();
    lease = client.getLeaseClient();
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    leaseStub = LeaseGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    kvStub = KVGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @AfterAll
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    client.close();
    server.close();
  }

  long grant(long ttl) throws Exception {
    return lease.grant(ttl).get(10, TimeUnit.SECONDS).getID();
  }

  void put(String k, long leaseId) throws Exception {
    kv.put(b(k), b("v"), PutOption.builder().withLeaseId(leaseId).build())
        .get(10, TimeUnit.SECONDS);
  }

  boolean exists(String k) throws Exception {
    return kv.get(b(k)).get(10, TimeUnit.SECONDS).getCount() == 1;
  }

  long revision() throws Exception {
    return kv.get(b("\0")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
  }

  static void await(BooleanSupplier cond, long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (!cond.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within %d ms", timeoutMs).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  boolean existsUnchecked(String k) {
    try {
      return exists(k);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void grantBelowTheMinimumTtlIsRaisedToIt() throws Exception {
    // (3 * 10 ticks) / 2 * 10 ms = 150 ms, rounded up: 1 s.
    assertThat(server.lessor().minTtl()).isEqualTo(1);
    LeaseGrantResponse r = leaseStub.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(0).build());
    assertThat(r.getTTL()).isEqualTo(1);
    assertThat(r.getID()).isPositive();
    assertThat(lease.grant(30).get().getTTL()).isEqualTo(30);
  }

  @Test
  void tooLargeTtlIsRejectedAsEtcdDoes() {
    assertThatThrownBy(
            () ->
                leaseStub.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(9_000_000_001L).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("etcdserver: too large lease TTL");
            });
  }

  @Test
  void revokeDeletesEveryAttachedKeyInOneRevision() throws Exception {
    long id = grant(60);
    put("revoke/a", id);
    put("revoke/b", id);
    put("revoke/c", 0);
    long before = revision();
    long at = lease.revoke(id).get(10, TimeUnit.SECONDS).getHeader().getRevision();
    assertThat(at).isEqualTo(before + 1);
    assertThat(exists("revoke/a")).isFalse();
    assertThat(exists("revoke/b")).isFalse();
    assertThat(exists("revoke/c")).isTrue();
    var atBefore =
        kv.get(b("revoke/"), GetOption.builder().isPrefix(true).withRevision(before).build()).get();
    assertThat(atBefore.getCount()).isEqualTo(3);
    assertThat(leaseStub.leaseLeases(LeaseLeasesRequest.getDefaultInstance()).getLeasesList())
        .extracting(LeaseStatus::getID)
        .doesNotContain(id);
  }

  @Test
  void revokeOfAnUnknownLeaseIsNotFound() {
    assertThatThrownBy(
            () -> leaseStub.leaseRevoke(LeaseRevokeRequest.newBuilder().setID(0x1234).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("etcdserver: requested lease not found");
            });
  }

  @Test
  void expiredLeaseIsRevokedAndItsKeysDeleted() throws Exception {
    long id = grant(1);
    long granted = System.nanoTime();
    put("expire/a", id);
    put("expire/b", id);
    await(() -> !existsUnchecked("expire/a"), 5_000);
    assertThat(System.nanoTime() - granted).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(900));
    assertThat(exists("expire/b")).isFalse();
    LeaseTimeToLiveResponse t = lease.timeToLive(id, LeaseOption.DEFAULT).get();
    assertThat(t.getTTL()).isEqualTo(-1);
  }

  @Test
  void keepAliveKeepsKeysAlivePastTheTtl() throws Exception {
    long id = grant(1);
    put("keepalive/a", id);
    List<LeaseKeepAliveResponse> answers = new CopyOnWriteArrayList<>();
    CloseableClient keeping =
        lease.keepAlive(
            id,
            new StreamObserver<>() {
              @Override
              public void onNext(LeaseKeepAliveResponse r) {
                answers.add(r);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    Thread.sleep(2_500);
    assertThat(exists("keepalive/a")).isTrue();
    assertThat(answers).isNotEmpty().allSatisfy(r -> assertThat(r.getTTL()).isEqualTo(1));
    keeping.close();
    await(() -> !existsUnchecked("keepalive/a"), 5_000);
  }

  @Test
  void keepAliveOfAnUnknownLeaseAnswersTtlZero() throws Exception {
    LinkedBlockingQueue<io.etch.api.etcdserverpb.LeaseKeepAliveResponse> answers =
        new LinkedBlockingQueue<>();
    StreamObserver<LeaseKeepAliveRequest> requests =
        LeaseGrpc.newStub(channel)
            .leaseKeepAlive(
                new StreamObserver<>() {
                  @Override
                  public void onNext(io.etch.api.etcdserverpb.LeaseKeepAliveResponse r) {
                    answers.add(r);
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                });
    long known = grant(30);
    requests.onNext(LeaseKeepAliveRequest.newBuilder().setID(0x999).build());
    requests.onNext(LeaseKeepAliveRequest.newBuilder().setID(known).build());
    var first = answers.poll(10, TimeUnit.SECONDS);
    var second = answers.poll(10, TimeUnit.SECONDS);
    requests.onCompleted();
    assertThat(first.getID()).isEqualTo(0x999);
    assertThat(first.getTTL()).isZero();
    assertThat(second.getID()).isEqualTo(known);
    assertThat(second.getTTL()).isEqualTo(30);
    assertThat(second.getHeader().getMemberId()).isEqualTo(server.memberId());
  }

  @Test
  void timeToLiveReportsRemainingTtlAndTheAttachedKeys() throws Exception {
    long id = grant(30);
    long other = grant(30);
    put("ttl/a", id);
    put("ttl/b", id);
    put("ttl/c", id);
    put("ttl/d", id);
    put("ttl/b", other); // moves to the other lease
    put("ttl/c", 0); // a put without lease detaches
    kv.delete(b("ttl/d")).get(); // deleting detaches
    PutRequest keep =
        PutRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8("ttl/a"))
            .setValue(ByteString.copyFromUtf8("v2"))
            .setIgnoreLease(true)
            .build();
    kvStub.put(keep); // ignore_lease keeps the key on its lease
    LeaseTimeToLiveResponse t =
        lease.timeToLive(id, LeaseOption.builder().withAttachedKeys().build()).get();
    assertThat(t.getGrantedTTL()).isEqualTo(30);
    assertThat(t.getTTL()).isBetween(28L, 30L);
    assertThat(t.getKeys()).containsExactly(b("ttl/a"));
    assertThat(kv.get(b("ttl/a")).get().getKvs().get(0).getLease()).isEqualTo(id);
    assertThat(
            lease
                .timeToLive(other, LeaseOption.builder().withAttachedKeys().build())
                .get()
                .getKeys())
        .containsExactly(b("ttl/b"));
    assertThat(lease.timeToLive(0x4242, LeaseOption.DEFAULT).get().getTTL()).isEqualTo(-1);
  }

  @Test
  void clientChosenIdIsGrantedAndADuplicateIsRejected() {
    LeaseGrantResponse r =
        leaseStub.leaseGrant(LeaseGrantRequest.newBuilder().setID(4242).setTTL(20).build());
    assertThat(r.getID()).isEqualTo(4242);
    assertThat(r.getTTL()).isEqualTo(20);
    assertThatThrownBy(
            () ->
                leaseStub.leaseGrant(LeaseGrantRequest.newBuilder().setID(4242).setTTL(5).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("etcdserver: lease already exists");
            });
    var t = leaseStub.leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(4242).build());
    assertThat(t.getGrantedTTL()).isEqualTo(20); // the duplicate changed nothing
  }

  @Test
  void leasesListsEveryGrantedLease() throws Exception {
    long a = grant(40);
    long c = grant(50);
    assertThat(leaseStub.leaseLeases(LeaseLeasesRequest.getDefaultInstance()).getLeasesList())
        .extracting(LeaseStatus::getID)
        .contains(a, c);
  }

  @Test
  void putWithAnUnknownLeaseFailsAndStoresNothing() throws Exception {
    long before = revision();
    assertThatThrownBy(
            () ->
                kvStub.put(
                    PutRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8("nolease/a"))
                        .setValue(ByteString.copyFromUtf8("v"))
                        .setLease(0x777)
                        .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("etcdserver: requested lease not found");
            });
    assertThat(exists("nolease/a")).isFalse();
    assertThat(revision()).isEqualTo(before);
  }

  @Test
  void txnChecksTheLeaseOnlyOnThePathItTakes() throws Exception {
    RequestOp leasedPut =
        RequestOp.newBuilder()
            .setRequestPut(
                PutRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8("txnlease/a"))
                    .setValue(ByteString.copyFromUtf8("v"))
                    .setLease(0x778))
            .build();
    RequestOp get =
        RequestOp.newBuilder()
            .setRequestRange(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("x")))
            .build();
    Compare never =
        Compare.newBuilder()
            .setKey(ByteString.copyFromUtf8("txnlease/a"))
            .setTarget(Compare.CompareTarget.VERSION)
            .setResult(Compare.CompareResult.EQUAL)
            .setVersion(5)
            .build();
    // etcd 3.4 answers this txn: the put with the unknown lease is on the branch not taken.
    TxnResponse r =
        kvStub.txn(
            TxnRequest.newBuilder()
                .addCompare(never)
                .addSuccess(leasedPut)
                .addFailure(get)
                .build());
    assertThat(r.getSucceeded()).isFalse();
    long before = revision();
    // Taken, inside a nested txn: rejected before any change.
    RequestOp nested =
        RequestOp.newBuilder()
            .setRequestTxn(TxnRequest.newBuilder().addFailure(get).addSuccess(leasedPut))
            .build();
    assertThatThrownBy(
            () ->
                kvStub.txn(
                    TxnRequest.newBuilder()
                        .addSuccess(
                            RequestOp.newBuilder()
                                .setRequestPut(
                                    PutRequest.newBuilder()
                                        .setKey(ByteString.copyFromUtf8("txnlease/b"))
                                        .setValue(ByteString.copyFromUtf8("v"))))
                        .addSuccess(nested)
                        .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e ->
                assertThat(e.getStatus().getDescription())
                    .isEqualTo("etcdserver: requested lease not found"));
    assertThat(exists("txnlease/b")).isFalse();
    assertThat(revision()).isEqualTo(before);
  }

  @Test
  void leaseAndItsKeysSurviveARestartWithTheTtlRefreshed() throws Exception {
    long id = grant(3);
    put("restart/a", id);
    Thread.sleep(1_200);
    assertThat(lease.timeToLive(id, LeaseOption.DEFAULT).get().getTTL()).isLessThanOrEqualTo(1);
    stop();
    start();
    LeaseTimeToLiveResponse t =
        lease.timeToLive(id, LeaseOption.builder().withAttachedKeys().build()).get();
    // Not shortened by the restart: the full 3 s again (etcd's promote), less the time to ask.
    assertThat(t.getTTL()).isGreaterThanOrEqualTo(2);
    assertThat(t.getGrantedTTL()).isEqualTo(3);
    assertThat(t.getKeys()).containsExactly(b("restart/a"));
    assertThat(exists("restart/a")).isTrue();
    // Recovered leases still expire, and take their recovered keys with them.
    await(() -> !existsUnchecked("restart/a"), 6_000);
  }
}
