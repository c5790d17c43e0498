package io.etch.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.etch.api.authpb.Permission;
import io.etch.api.etcdserverpb.AlarmRequest;
import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.AuthRoleAddRequest;
import io.etch.api.etcdserverpb.AuthRoleDeleteRequest;
import io.etch.api.etcdserverpb.AuthRoleGetRequest;
import io.etch.api.etcdserverpb.AuthRoleGetResponse;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etch.api.etcdserverpb.AuthRoleListRequest;
import io.etch.api.etcdserverpb.AuthStatusRequest;
import io.etch.api.etcdserverpb.AuthUserAddRequest;
import io.etch.api.etcdserverpb.AuthUserDeleteRequest;
import io.etch.api.etcdserverpb.AuthUserGetRequest;
import io.etch.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etch.api.etcdserverpb.AuthUserListRequest;
import io.etch.api.etcdserverpb.AuthenticateRequest;
import io.etch.api.etcdserverpb.ClusterGrpc;
import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.etcdserverpb.Compare;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.DeleteRangeResponse;
import io.etch.api.etcdserverpb.HashKVRequest;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrantResponse;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.LeaseKeepAliveRequest;
import io.etch.api.etcdserverpb.LeaseKeepAliveResponse;
import io.etch.api.etcdserverpb.LeaseLeasesRequest;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.LeaseStatus;
import io.etch.api.etcdserverpb.LeaseTimeToLiveRequest;
import io.etch.api.etcdserverpb.LeaseTimeToLiveResponse;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.Member;
import io.etch.api.etcdserverpb.MemberListRequest;
import io.etch.api.etcdserverpb.MemberListResponse;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.PutResponse;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.ResponseOp;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.api.etcdserverpb.StatusResponse;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.etcdserverpb.TxnResponse;
import io.etch.api.etcdserverpb.WatchCancelRequest;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchGrpc;
import io.etch.api.etcdserverpb.WatchProgressRequest;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.api.mvccpb.Event;
import io.etch.api.mvccpb.KeyValue;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our generated messages and stubs against a real etcd (Debian's etcd-server, 3.4) on loopback
 * ports: if a field number or a service name were wrong, these answers would be missing or garbled.
 * etcd 3.4 lacks a few 3.5 additions (AuthStatus, MemberList linearizable, HashKV's hash_revision);
 * the tests say where.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EtcdWireCompatibilityTest {

  private static final Path ETCD = Path.of("/usr/bin/etcd");
  private static final String NAME = "etch-compat";
  private static final long TIMEOUT_SECONDS = 10;

  private Process etcd;
  private Path etcdLog;
  private ManagedChannel channel;
  private String clientUrl;
  private String peerUrl;

  @BeforeAll
  void startEtcd(@TempDir Path tmp) throws Exception {
    if (!Files.isExecutable(ETCD)) {
      fail(
          ETCD
              + " is missing: install etcd with `apt-get install -y etcd-server` (Debian's"
              + " etcd 3.4). This compatibility test needs a real etcd and is never skipped.");
    }
    int clientPort = freePort();
    int peerPort = freePort();
    clientUrl = "http://127.0.0.1:" + clientPort;
    peerUrl = "http://127.0.0.1:" + peerPort;
    etcdLog = tmp.resolve("etcd.log");
    ProcessBuilder pb =
        new ProcessBuilder(
            ETCD.toString(),
            "--name",
            NAME,
            "--data-dir",
            tmp.resolve("data").toString(),
            "--listen-client-urls",
            clientUrl,
            "--advertise-client-urls",
            clientUrl,
            "--listen-peer-urls",
            peerUrl,
            "--initial-advertise-peer-urls",
            peerUrl,
            "--initial-cluster",
            NAME + "=" + peerUrl,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            "etch-compat-" + clientPort);
    // Flags only: an ETCD_* variable in the caller's environment must not change the setup.
    pb.environment().keySet().removeIf(k -> k.startsWith("ETCD"));
    pb.redirectErrorStream(true);
    pb.redirectOutput(etcdLog.toFile());
    etcd = pb.start();
    channel =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1", clientPort, InsecureChannelCredentials.create())
            .build();
    awaitReady();
  }

  @AfterAll
  void stopEtcd() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (etcd != null) {
      etcd.destroy();
      if (!etcd.waitFor(10, TimeUnit.SECONDS)) {
        etcd.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }

  private void awaitReady() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    StatusRuntimeException last = null;
    while (System.nanoTime() < deadline) {
      if (!etcd.isAlive()) {
        fail("etcd exited with " + etcd.exitValue() + ":\n" + etcdLogText());
      }
      try {
        StatusResponse s =
            MaintenanceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(1, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance());
        if (s.getLeader() != 0) {
          return;
        }
      } catch (StatusRuntimeException e) {
        last = e;
      }
      Thread.sleep(100);
    }
    fail("etcd did not become ready (" + last + "):\n" + etcdLogText());
  }

  private String etcdLogText() {
    try {
      return Files.readString(etcdLog);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  private KVGrpc.KVBlockingStub kv() {
    return KVGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private LeaseGrpc.LeaseBlockingStub lease() {
    return LeaseGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private MaintenanceGrpc.MaintenanceBlockingStub maintenance() {
    return MaintenanceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private AuthGrpc.AuthBlockingStub auth() {
    return AuthGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  /** etcd's prefix convention: range_end is the prefix with its last byte incremented. */
  private static ByteString prefixEnd(String prefix) {
    byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
    b[b.length - 1]++;
    return ByteString.copyFrom(b);
  }

  private PutResponse put(String key, String value) {
    return kv().put(PutRequest.newBuilder().setKey(bs(key)).setValue(bs(value)).build());
  }

  @Test
  @Order(1)
  void putRangeAndDeleteFollowEtcdsRevisionArithmetic() {
    String p = "/compat/kv/";
    PutResponse first = put(p + "a", "v1");
    long r = first.getHeader().getRevision();
    assertThat(first.getHeader().getClusterId()).isNotZero();
    assertThat(first.getHeader().getMemberId()).isNotZero();
    assertThat(first.getHeader().getRaftTerm()).isPositive();
    assertThat(first.hasPrevKv()).isFalse();

    PutResponse second =
        kv().put(
                PutRequest.newBuilder()
                    .setKey(bs(p + "a"))
                    .setValue(bs("v2"))
                    .setPrevKv(true)
                    .build());
    assertThat(second.getHeader().getRevision()).isEqualTo(r + 1);
    assertThat(second.getPrevKv())
        .isEqualTo(
            KeyValue.newBuilder()
                .setKey(bs(p + "a"))
                .setValue(bs("v1"))
                .setCreateRevision(r)
                .setModRevision(r)
                .setVersion(1)
                .build());

    RangeResponse now = kv().range(RangeRequest.newBuilder().setKey(bs(p + "a")).build());
    assertThat(now.getHeader().getRevision()).isEqualTo(r + 1);
    assertThat(now.getCount()).isEqualTo(1);
    assertThat(now.getMore()).isFalse();
    KeyValue a = now.getKvs(0);
    assertThat(a.getValue()).isEqualTo(bs("v2"));
    assertThat(a.getCreateRevision()).isEqualTo(r);
    assertThat(a.getModRevision()).isEqualTo(r + 1);
    assertThat(a.getVersion()).isEqualTo(2);
    assertThat(a.getLease()).isZero();

    RangeResponse past =
        kv().range(RangeRequest.newBuilder().setKey(bs(p + "a")).setRevision(r).build());
    assertThat(past.getKvs(0).getValue()).isEqualTo(bs("v1"));

    put(p + "b", "vb"); // r + 2
    put(p + "c", "vc"); // r + 3
    RangeRequest all = RangeRequest.newBuilder().setKey(bs(p)).setRangeEnd(prefixEnd(p)).build();

    RangeResponse page =
        kv().range(
                all.toBuilder()
                    .setLimit(2)
                    .setSortOrder(RangeRequest.SortOrder.DESCEND)
                    .setSortTarget(RangeRequest.SortTarget.KEY)
                    .build());
    assertThat(page.getKvsList())
        .extracting(KeyValue::getKey)
        .containsExactly(bs(p + "c"), bs(p + "b"));
    assertThat(page.getMore()).isTrue();
    assertThat(page.getCount()).isEqualTo(3);

    RangeResponse keysOnly = kv().range(all.toBuilder().setKeysOnly(true).build());
    assertThat(keysOnly.getKvsList())
        .hasSize(3)
        .allSatisfy(kv -> assertThat(kv.getValue()).isEmpty());

    RangeResponse countOnly = kv().range(all.toBuilder().setCountOnly(true).build());
    assertThat(countOnly.getKvsList()).isEmpty();
    assertThat(countOnly.getCount()).isEqualTo(3);

    RangeResponse newer = kv().range(all.toBuilder().setMinModRevision(r + 2).build());
    assertThat(newer.getKvsList())
        .extracting(KeyValue::getKey)
        .containsExactly(bs(p + "b"), bs(p + "c"));

    RangeResponse serializable = kv().range(all.toBuilder().setSerializable(true).build());
    assertThat(serializable.getCount()).isEqualTo(3);

    DeleteRangeResponse deleted =
        kv().deleteRange(
                DeleteRangeRequest.newBuilder()
                    .setKey(bs(p))
                    .setRangeEnd(prefixEnd(p))
                    .setPrevKv(true)
                    .build());
    assertThat(deleted.getDeleted()).isEqualTo(3);
    // One delete request is one revision, however many keys it removes.
    assertThat(deleted.getHeader().getRevision()).isEqualTo(r + 4);
    assertThat(deleted.getPrevKvsList())
        .extracting(kv -> kv.getValue().toStringUtf8())
        .containsExactlyInAnyOrder("v2", "vb", "vc");
    assertThat(kv().range(all).getCount()).isZero();
    assertThat(kv().range(all.toBuilder().setRevision(r + 3).build()).getCount()).isEqualTo(3);
  }

  @Test
  @Order(2)
  void txnRunsTheBranchItsComparesChoose() {
    String k = "/compat/txn/k";
    long r = put(k, "x").getHeader().getRevision();
    TxnRequest casOnModRevision =
        TxnRequest.newBuilder()
            .addCompare(
                Compare.newBuilder()
                    .setKey(bs(k))
                    .setTarget(Compare.CompareTarget.MOD)
                    .setResult(Compare.CompareResult.EQUAL)
                    .setModRevision(r))
            .addCompare(
                Compare.newBuilder()
                    .setKey(bs(k))
                    .setTarget(Compare.CompareTarget.VALUE)
                    .setResult(Compare.CompareResult.EQUAL)
                    .setValue(bs("x")))
            .addSuccess(
                RequestOp.newBuilder()
                    .setRequestPut(
                        PutRequest.newBuilder().setKey(bs(k)).setValue(bs("y")).setPrevKv(true)))
            .addSuccess(
                RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs(k))))
            .addFailure(
                RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs(k))))
            .build();

    TxnResponse won = kv().txn(casOnModRevision);
    assertThat(won.getSucceeded()).isTrue();
    assertThat(won.getHeader().getRevision()).isEqualTo(r + 1);
    assertThat(won.getResponsesList())
        .extracting(ResponseOp::getResponseCase)
        .containsExactly(
            ResponseOp.ResponseCase.RESPONSE_PUT, ResponseOp.ResponseCase.RESPONSE_RANGE);
    assertThat(won.getResponses(0).getResponsePut().getPrevKv().getValue()).isEqualTo(bs("x"));
    // A range later in the same txn sees the txn's own put.
    KeyValue seen = won.getResponses(1).getResponseRange().getKvs(0);
    assertThat(seen.getValue()).isEqualTo(bs("y"));
    assertThat(seen.getModRevision()).isEqualTo(r + 1);

    TxnResponse lost = kv().txn(casOnModRevision);
    assertThat(lost.getSucceeded()).isFalse();
    assertThat(lost.getHeader().getRevision()).isEqualTo(r + 1);
    assertThat(lost.getResponsesList()).hasSize(1);
    assertThat(lost.getResponses(0).getResponseRange().getKvs(0).getValue()).isEqualTo(bs("y"));

    // create_revision == 0 means "absent"; a compare over a range; a nested txn.
    TxnResponse nested =
        kv().txn(
                TxnRequest.newBuilder()
                    .addCompare(
                        Compare.newBuilder()
                            .setKey(bs("/compat/txn/absent"))
                            .setTarget(Compare.CompareTarget.CREATE)
                            .setResult(Compare.CompareResult.EQUAL)
                            .setCreateRevision(0))
                    .addCompare(
                        Compare.newBuilder()
                            .setKey(bs("/compat/txn/"))
                            .setRangeEnd(prefixEnd("/compat/txn/"))
                            .setTarget(Compare.CompareTarget.VERSION)
                            .setResult(Compare.CompareResult.GREATER)
                            .setVersion(1))
                    .addSuccess(
                        RequestOp.newBuilder()
                            .setRequestTxn(
                                TxnRequest.newBuilder()
                                    .addCompare(
                                        Compare.newBuilder()
                                            .setKey(bs(k))
                                            .setTarget(Compare.CompareTarget.LEASE)
                                            .setResult(Compare.CompareResult.EQUAL)
                                            .setLease(0))
                                    .addSuccess(
                                        RequestOp.newBuilder()
                                            .setRequestDeleteRange(
                                                DeleteRangeRequest.newBuilder().setKey(bs(k))))))
                    .build());
    assertThat(nested.getSucceeded()).isTrue();
    TxnResponse inner = nested.getResponses(0).getResponseTxn();
    assertThat(inner.getSucceeded()).isTrue();
    assertThat(inner.getResponses(0).getResponseDeleteRange().getDeleted()).isEqualTo(1);
    assertThat(nested.getHeader().getRevision()).isEqualTo(r + 2);
  }

  /** Collects a bidirectional stream's responses for the test thread. */
  private static final class Collector<T> implements StreamObserver<T> {
    final BlockingQueue<T> received = new LinkedBlockingQueue<>();
    volatile Throwable error;

    @Override
    public void onNext(T value) {
      received.add(value);
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {}

    T next() throws InterruptedException {
      T v = received.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (v == null) {
        fail("no response within " + TIMEOUT_SECONDS + " s" + (error == null ? "" : ": " + error));
      }
      return v;
    }
  }

  @Test
  @Order(3)
  void watchDeliversEventsWithPrevKvFiltersCancelAndProgress() throws Exception {
    String p = "/compat/watch/";
    Collector<WatchResponse> responses = new Collector<>();
    StreamObserver<WatchRequest> requests = WatchGrpc.newStub(channel).watch(responses);
    WatchCreateRequest range =
        WatchCreateRequest.newBuilder().setKey(bs(p)).setRangeEnd(prefixEnd(p)).build();

    requests.onNext(
        WatchRequest.newBuilder()
            .setCreateRequest(range.toBuilder().setPrevKv(true).setWatchId(7))
            .build());
    WatchResponse created = responses.next();
    assertThat(created.getCreated()).isTrue();
    assertThat(created.getWatchId()).isEqualTo(7);

    requests.onNext(
        WatchRequest.newBuilder()
            .setCreateRequest(
                range.toBuilder().setWatchId(8).addFilters(WatchCreateRequest.FilterType.NOPUT))
            .build());
    WatchResponse createdNoPut = responses.next();
    assertThat(createdNoPut.getCreated()).isTrue();
    assertThat(createdNoPut.getWatchId()).isEqualTo(8);

    long r = put(p + "a", "v1").getHeader().getRevision();
    put(p + "a", "v2");
    kv().deleteRange(DeleteRangeRequest.newBuilder().setKey(bs(p + "a")).build());

    List<Event> all = new ArrayList<>();
    List<Event> deletesOnly = new ArrayList<>();
    long lastRevision = 0;
    while (all.size() < 3 || deletesOnly.isEmpty()) {
      WatchResponse w = responses.next();
      assertThat(w.getHeader().getRevision()).isGreaterThanOrEqualTo(lastRevision);
      lastRevision = w.getHeader().getRevision();
      (w.getWatchId() == 7 ? all : deletesOnly).addAll(w.getEventsList());
    }

    assertThat(all)
        .extracting(Event::getType)
        .containsExactly(Event.EventType.PUT, Event.EventType.PUT, Event.EventType.DELETE);
    Event created1 = all.get(0);
    assertThat(created1.getKv().getVersion()).isEqualTo(1);
    assertThat(created1.getKv().getCreateRevision()).isEqualTo(r);
    assertThat(created1.getKv().getModRevision()).isEqualTo(r);
    assertThat(created1.hasPrevKv()).isFalse();
    Event updated = all.get(1);
    assertThat(updated.getKv().getValue()).isEqualTo(bs("v2"));
    assertThat(updated.getKv().getModRevision()).isEqualTo(r + 1);
    assertThat(updated.getPrevKv().getValue()).isEqualTo(bs("v1"));
    Event deleted = all.get(2);
    assertThat(deleted.getKv().getKey()).isEqualTo(bs(p + "a"));
    assertThat(deleted.getKv().getModRevision()).isEqualTo(r + 2);
    assertThat(deleted.getPrevKv().getValue()).isEqualTo(bs("v2"));
    assertThat(deletesOnly).extracting(Event::getType).containsExactly(Event.EventType.DELETE);

    requests.onNext(
        WatchRequest.newBuilder()
            .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(7))
            .build());
    WatchResponse canceled = responses.next();
    assertThat(canceled.getCanceled()).isTrue();
    assertThat(canceled.getWatchId()).isEqualTo(7);

    requests.onNext(
        WatchRequest.newBuilder()
            .setProgressRequest(WatchProgressRequest.getDefaultInstance())
            .build());
    WatchResponse progress = responses.next();
    // A progress notification belongs to no single watch: etcd sends watch_id -1.
    assertThat(progress.getWatchId()).isEqualTo(-1);
    assertThat(progress.getEventsList()).isEmpty();
    assertThat(progress.getHeader().getRevision()).isGreaterThanOrEqualTo(r + 2);

    requests.onCompleted();
  }

  @Test
  @Order(4)
  void leaseGrantKeepAliveTimeToLiveAndRevoke() throws Exception {
    LeaseGrantResponse granted =
        lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build());
    long id = granted.getID();
    assertThat(id).isNotZero();
    assertThat(granted.getTTL()).isEqualTo(60);
    assertThat(granted.getError()).isEmpty();

    String key = "/compat/lease/k";
    kv().put(PutRequest.newBuilder().setKey(bs(key)).setValue(bs("v")).setLease(id).build());
    assertThat(kv().range(RangeRequest.newBuilder().setKey(bs(key)).build()).getKvs(0).getLease())
        .isEqualTo(id);

    Collector<LeaseKeepAliveResponse> kept = new Collector<>();
    StreamObserver<LeaseKeepAliveRequest> keepAlive =
        LeaseGrpc.newStub(channel).leaseKeepAlive(kept);
    keepAlive.onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
    LeaseKeepAliveResponse renewed = kept.next();
    assertThat(renewed.getID()).isEqualTo(id);
    assertThat(renewed.getTTL()).isEqualTo(60);
    keepAlive.onCompleted();

    LeaseTimeToLiveResponse ttl =
        lease()
            .leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(id).setKeys(true).build());
    assertThat(ttl.getID()).isEqualTo(id);
    assertThat(ttl.getGrantedTTL()).isEqualTo(60);
    assertThat(ttl.getTTL()).isBetween(1L, 60L);
    assertThat(ttl.getKeysList()).containsExactly(bs(key));

    assertThat(lease().leaseLeases(LeaseLeasesRequest.getDefaultInstance()).getLeasesList())
        .extracting(LeaseStatus::getID)
        .contains(id);

    lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build());
    assertThat(kv().range(RangeRequest.newBuilder().setKey(bs(key)).build()).getCount()).isZero();
    assertThat(
            lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(id).build()).getTTL())
        .isEqualTo(-1);

    long chosen = 0x7e7c0de;
    assertThat(
            lease()
                .leaseGrant(LeaseGrantRequest.newBuilder().setID(chosen).setTTL(30).build())
                .getID())
        .isEqualTo(chosen);
    lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(chosen).build());
    assertThatThrownBy(
            () -> lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(chosen).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("etcdserver: requested lease not found");
            });
  }

  @Test
  @Order(5)
  void clusterMaintenanceAndAuthAnswer() {
    MemberListResponse members =
        ClusterGrpc.newBlockingStub(channel)
            .withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
            .memberList(MemberListRequest.getDefaultInstance());
    assertThat(members.getMembersList()).hasSize(1);
    Member self = members.getMembers(0);
    assertThat(self.getName()).isEqualTo(NAME);
    assertThat(self.getPeerURLsList()).containsExactly(peerUrl);
    assertThat(self.getClientURLsList()).containsExactly(clientUrl);
    assertThat(self.getIsLearner()).isFalse();
    assertThat(members.getHeader().getMemberId()).isEqualTo(self.getID());
    assertThat(members.getHeader().getClusterId()).isNotZero();

    StatusResponse status = maintenance().status(StatusRequest.getDefaultInstance());
    assertThat(status.getVersion()).matches("3\\.\\d+\\.\\d+.*");
    assertThat(status.getLeader()).isEqualTo(self.getID());
    assertThat(status.getHeader().getMemberId()).isEqualTo(self.getID());
    assertThat(status.getRaftIndex()).isPositive();
    assertThat(status.getRaftAppliedIndex())
        .isPositive()
        .isLessThanOrEqualTo(status.getRaftIndex());
    assertThat(status.getRaftTerm()).isPositive();
    assertThat(status.getDbSize()).isPositive();
    assertThat(status.getDbSizeInUse()).isPositive().isLessThanOrEqualTo(status.getDbSize());
    assertThat(status.getIsLearner()).isFalse();
    assertThat(status.getErrorsList()).isEmpty();

    assertThat(
            maintenance()
                .alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build())
                .getAlarmsList())
        .isEmpty();
    assertThat(maintenance().hashKV(HashKVRequest.getDefaultInstance()).getHeader().getRevision())
        .isPositive();

    String role = "compat-role";
    String user = "compat-user";
    auth().roleAdd(AuthRoleAddRequest.newBuilder().setName(role).build());
    Permission perm =
        Permission.newBuilder()
            .setPermType(Permission.Type.READWRITE)
            .setKey(bs("/compat/auth/"))
            .setRangeEnd(prefixEnd("/compat/auth/"))
            .build();
    auth()
        .roleGrantPermission(
            AuthRoleGrantPermissionRequest.newBuilder().setName(role).setPerm(perm).build());
    AuthRoleGetResponse got = auth().roleGet(AuthRoleGetRequest.newBuilder().setRole(role).build());
    assertThat(got.getPermList()).containsExactly(perm);
    auth().userAdd(AuthUserAddRequest.newBuilder().setName(user).setPassword("pw").build());
    auth().userGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser(user).setRole(role).build());
    assertThat(auth().userGet(AuthUserGetRequest.newBuilder().setName(user).build()).getRolesList())
        .containsExactly(role);
    assertThat(auth().userList(AuthUserListRequest.getDefaultInstance()).getUsersList())
        .contains(user);
    assertThat(auth().roleList(AuthRoleListRequest.getDefaultInstance()).getRolesList())
        .contains(role);

    assertThatThrownBy(
            () ->
                auth()
                    .authenticate(
                        AuthenticateRequest.newBuilder().setName(user).setPassword("pw").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("etcdserver: authentication is not enabled");
            });

    // AuthStatus arrived in etcd 3.5; Debian's 3.4 answers UNIMPLEMENTED for the method name.
    if (status.getVersion().startsWith("3.4.")) {
      assertThatThrownBy(() -> auth().authStatus(AuthStatusRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    } else {
      assertThat(auth().authStatus(AuthStatusRequest.getDefaultInstance()).getEnabled()).isFalse();
    }

    auth().userDelete(AuthUserDeleteRequest.newBuilder().setName(user).build());
    auth().roleDelete(AuthRoleDeleteRequest.newBuilder().setRole(role).build());
  }

  /** Last: compaction discards the history the other tests read. */
  @Test
  @Order(6)
  void compactedRevisionIsRejectedAndItsWatchCanceledWithCompactRevision() throws Exception {
    String k = "/compat/compact/k";
    long r1 = put(k, "1").getHeader().getRevision();
    put(k, "2");
    long r3 = put(k, "3").getHeader().getRevision();
    kv().compact(CompactionRequest.newBuilder().setRevision(r3).setPhysical(true).build());

    assertThatThrownBy(
            () -> kv().range(RangeRequest.newBuilder().setKey(bs(k)).setRevision(r1).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("etcdserver: mvcc: required revision has been compacted");
            });

    Collector<WatchResponse> responses = new Collector<>();
    StreamObserver<WatchRequest> requests = WatchGrpc.newStub(channel).watch(responses);
    requests.onNext(
        WatchRequest.newBuilder()
            .setCreateRequest(WatchCreateRequest.newBuilder().setKey(bs(k)).setStartRevision(r1))
            .build());
    WatchResponse w;
    do {
      w = responses.next();
      assertThat(w.getEventsList()).as("no events from a compacted revision").isEmpty();
    } while (!w.getCanceled());
    assertThat(w.getCompactRevision()).isEqualTo(r3);
    requests.onCompleted();
  }
}
