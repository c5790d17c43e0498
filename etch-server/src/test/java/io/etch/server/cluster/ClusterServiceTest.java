package io.etch.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.api.etcdserverpb.ClusterGrpc;
import io.etch.api.etcdserverpb.Member;
import io.etch.api.etcdserverpb.MemberAddRequest;
import io.etch.api.etcdserverpb.MemberListRequest;
import io.etch.api.etcdserverpb.MemberListResponse;
import io.etch.api.etcdserverpb.MemberPromoteRequest;
import io.etch.api.etcdserverpb.MemberRemoveRequest;
import io.etch.api.etcdserverpb.MemberUpdateRequest;
import io.etch.server.ClusterIds;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import io.etch.storage.membership.MemberRecord;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd's Cluster service on a one-member etch: member list, and etcd's refusals. */
class ClusterServiceTest {
  @TempDir Path dir;
  EtchServer server;
  ManagedChannel ch;
  int port;

  static final String PEER = "http://127.0.0.1:23999";

  ClusterGrpc.ClusterBlockingStub start(int clientPort) throws Exception {
    port = clientPort;
    server =
        TestServer.start(
            dir.resolve("data"),
            port,
            "--name=m1",
            "--initial-advertise-peer-urls=" + PEER,
            "--initial-cluster=m1=" + PEER,
            "--initial-cluster-token=tok");
    ch = TestServer.channel(port);
    return ClusterGrpc.newBlockingStub(ch);
  }

  void stop() throws Exception {
    TestServer.close(ch);
    server.close();
    server = null;
  }

  @AfterEach
  void tearDown() throws Exception {
    TestServer.close(ch);
    if (server != null) {
      server.close();
    }
  }

  @Test
  void memberListShowsThisMemberWithItsIdNameAndUrls() throws Exception {
    ClusterGrpc.ClusterBlockingStub cluster = start(TestServer.freePort());
    MemberListResponse r = cluster.memberList(MemberListRequest.getDefaultInstance());
    long id = ClusterIds.memberId(List.of(URI.create(PEER)), "tok");
    assertThat(r.getMembersList())
        .containsExactly(
            Member.newBuilder()
                .setID(id)
                .setName("m1")
                .addPeerURLs(PEER)
                .addClientURLs("http://127.0.0.1:" + port)
                .build());
    // etcd's cluster header carries ids and term, no revision.
    assertThat(r.getHeader().getMemberId()).isEqualTo(id);
    assertThat(r.getHeader().getClusterId()).isEqualTo(server.clusterId());
    assertThat(r.getHeader().getRaftTerm()).isPositive();
    assertThat(r.getHeader().getRevision()).isZero();
    assertThat(
            cluster
                .memberList(MemberListRequest.newBuilder().setLinearizable(true).build())
                .getMembersList())
        .isEqualTo(r.getMembersList());
  }

  @Test
  void membersPersistAcrossRestartAndTheNewClientUrlIsPublished() throws Exception {
    start(TestServer.freePort());
    stop();
    int newPort = TestServer.freePort();
    ClusterGrpc.ClusterBlockingStub cluster = start(newPort);
    // The bootstrap entries were applied in the first run only (the consistent index covers them
    // now): the record comes from the store's membership column family.
    assertThat(server.store().consistentIndex()).isGreaterThan(1);
    List<MemberRecord> stored = server.store().members();
    assertThat(stored).hasSize(1);
    assertThat(stored.get(0).peerURLs()).containsExactly(PEER);
    ClusterService.publish(server).get();
    assertThat(cluster.memberList(MemberListRequest.getDefaultInstance()).getMembers(0))
        .satisfies(
            m -> {
              assertThat(m.getName()).isEqualTo("m1");
              assertThat(m.getClientURLsList()).containsExactly("http://127.0.0.1:" + newPort);
            });
  }

  static void assertEtcdError(ThrowingCallable call, Status.Code code, String message) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).isEqualTo(message);
            });
  }

  @Test
  void membershipChangesAreRefusedWithEtcdsErrors() throws Exception {
    ClusterGrpc.ClusterBlockingStub cluster = start(TestServer.freePort());
    long self = server.memberId();
    assertEtcdError(
        () -> cluster.memberRemove(MemberRemoveRequest.newBuilder().setID(1234).build()),
        Status.Code.NOT_FOUND,
        "etcdserver: member not found");
    assertEtcdError(
        () -> cluster.memberRemove(MemberRemoveRequest.newBuilder().setID(self).build()),
        Status.Code.FAILED_PRECONDITION,
        "etcdserver: re-configuration failed due to not enough started members");
    assertEtcdError(
        () -> cluster.memberPromote(MemberPromoteRequest.newBuilder().setID(self).build()),
        Status.Code.FAILED_PRECONDITION,
        "etcdserver: can only promote a learner member");
    assertEtcdError(
        () -> cluster.memberPromote(MemberPromoteRequest.newBuilder().setID(99).build()),
        Status.Code.NOT_FOUND,
        "etcdserver: member not found");
    assertEtcdError(
        () ->
            cluster.memberUpdate(
                MemberUpdateRequest.newBuilder().setID(99).addPeerURLs("http://x:1").build()),
        Status.Code.NOT_FOUND,
        "etcdserver: member not found");
    assertEtcdError(
        () -> cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs(PEER).build()),
        Status.Code.FAILED_PRECONDITION,
        "etcdserver: Peer URLs already exists");
    assertEtcdError(
        () -> cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs("127.0.0.1:1").build()),
        Status.Code.INVALID_ARGUMENT,
        "etcdserver: given member URLs are invalid");
    assertEtcdError(
        () -> cluster.memberAdd(MemberAddRequest.getDefaultInstance()),
        Status.Code.INVALID_ARGUMENT,
        "etcdserver: given member URLs are invalid");
    assertThat(cluster.memberList(MemberListRequest.getDefaultInstance()).getMembersCount())
        .isEqualTo(1);
  }
}
