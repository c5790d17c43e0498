package io.etch.server.cluster;

import static io.etch.server.cluster.TestCluster.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.etch.api.etcdserverpb.ClusterGrpc;
import io.etch.api.etcdserverpb.MemberPromoteRequest;
import io.etch.api.etcdserverpb.MemberPromoteResponse;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Members added as learners, promoted, updated and removed through the Cluster API. */
class MembershipChangeTest {
  @TempDir Path dir;
  TestCluster cluster;

  @AfterEach
  void tearDown() {
    if (cluster != null) {
      cluster.close();
    }
  }

  static String cause(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  MemberPromoteResponse promote(int via, long id) throws InterruptedException {
    return promote(cluster, via, id);
  }

  /** Promotes learner {@code id} through member {@code via}, retrying while it is not in sync. */
  static MemberPromoteResponse promote(TestCluster cluster, int via, long id)
      throws InterruptedException {
    ManagedChannel ch = TestServer.channel(cluster.clientPorts.get(via));
    try {
      // A learner needs a moment to hold 90% of the leader's log: retry while it is not ready.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (true) {
        try {
          return ClusterGrpc.newBlockingStub(ch)
              .withDeadlineAfter(20, TimeUnit.SECONDS)
              .memberPromote(MemberPromoteRequest.newBuilder().setID(id).build());
        } catch (StatusRuntimeException e) {
          if (!String.valueOf(e.getStatus().getDescription()).contains("in sync with leader")
              || System.nanoTime() > deadline) {
            throw e;
          }
          Thread.sleep(50);
        }
      }
    } finally {
      TestServer.close(ch);
    }
  }

  @Test
  void learnerJoinsCatchesUpIsPromotedAndAMemberIsRemoved() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    Client c = cluster.client(leader);
    for (int i = 0; i < 50; i++) {
      c.getKVClient().put(b("k" + i), b("v" + i)).get(20, TimeUnit.SECONDS);
    }
    // Add a learner, through a follower (the request is forwarded as a raft proposal).
    int follower = (leader + 1) % 3;
    int n = cluster.reserve();
    var added =
        cluster
            .client(follower)
            .getClusterClient()
            .addMember(List.of(URI.create(cluster.peerUrl(n))), true)
            .get(20, TimeUnit.SECONDS);
    assertThat(added.getMember().isLearner()).isTrue();
    assertThat(added.getMembers()).hasSize(4);
    long newId = added.getMember().getId();
    // etcd allows one learner at a time.
    assertThatThrownBy(
            () ->
                c.getClusterClient()
                    .addMember(List.of(URI.create("http://127.0.0.1:1")), true)
                    .get(20, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .satisfies(
            e -> assertThat(cause(e)).contains("etcdserver: too many learner members in cluster"));
    // The same peer URL cannot be added twice.
    assertThatThrownBy(
            () ->
                c.getClusterClient()
                    .addMember(List.of(URI.create(cluster.peerUrl(n))), false)
                    .get(20, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(cause(e)).contains("etcdserver: Peer URLs already exists"));
    // The new member starts, joins by asking the others, and catches up from the log.
    EtchServer joined = cluster.join(n);
    assertThat(joined.memberId()).isEqualTo(newId);
    assertThat(joined.clusterId()).isEqualTo(cluster.member(0).clusterId());
    cluster.awaitConverged();
    var g =
        cluster
            .client(n)
            .getKVClient()
            .get(b("k49"), GetOption.builder().withSerializable(true).build())
            .get(20, TimeUnit.SECONDS);
    assertThat(g.getKvs()).hasSize(1);
    // A learner serves serializable reads only, as etcd's learners do.
    assertThatThrownBy(
            () -> cluster.client(n).getKVClient().put(b("x"), b("y")).get(20, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(cause(e)).contains("etcdserver: rpc not supported for learner"));
    // Promote it, through a follower (forwarded to the leader, which alone knows its progress).
    // (jetcd has no promote: the raw gRPC stub it is.)
    var promoted = promote(follower, newId);
    assertThat(promoted.getMembersList()).hasSize(4).noneMatch(m -> m.getIsLearner());
    // Promoting a voter is refused as etcd refuses it.
    int l = leader;
    assertThatThrownBy(() -> promote(l, newId))
        .satisfies(
            e -> assertThat(cause(e)).contains("etcdserver: can only promote a learner member"));
    c.getKVClient().put(b("after-promote"), b("x")).get(20, TimeUnit.SECONDS);

    // Remove a follower that is not the one we talk to; it stops by itself.
    int lead = cluster.awaitLeader();
    int victim = 0;
    while (victim == follower || victim == lead) {
      victim++;
    }
    EtchServer removed = cluster.member(victim);
    var after =
        cluster
            .client(follower)
            .getClusterClient()
            .removeMember(removed.memberId())
            .get(20, TimeUnit.SECONDS);
    assertThat(after.getMembers()).hasSize(3).noneMatch(m -> m.getId() == removed.memberId());
    removed.terminated().get(30, TimeUnit.SECONDS);
    cluster.members.set(victim, null);
    // Removing it again: not found.
    assertThatThrownBy(
            () ->
                cluster
                    .client(follower)
                    .getClusterClient()
                    .removeMember(removed.memberId())
                    .get(20, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(cause(e)).contains("etcdserver: member not found"));
    // The remaining three (one of them the new member) keep serving and agree.
    cluster.client(n).getKVClient().put(b("after-remove"), b("y")).get(20, TimeUnit.SECONDS);
    cluster.assertSameData();
    assertThat(joined.store().members()).hasSize(3);
  }

  @Test
  void aMemberRemovedWhileCutOffLearnsItFromItsPeersAndStops() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    int victim = (leader + 1) % 3;
    EtchServer removed = cluster.member(victim);
    // Cut off, it cannot apply (or even receive) its own removal; the other two commit it.
    cluster.isolate(victim);
    cluster
        .client(leader)
        .getClusterClient()
        .removeMember(removed.memberId())
        .get(20, TimeUnit.SECONDS);
    assertThat(removed.terminated()).isNotDone();
    // Healed, the leader no longer sends to it; its peers refuse its messages as a removed
    // member's, and once every other member confirms, it stops.
    cluster.heal();
    removed.terminated().get(30, TimeUnit.SECONDS);
    cluster.members.set(victim, null);
    assertThat(removed.store().consistentIndex()).isPositive();
    cluster.client(leader).getKVClient().put(b("k"), b("v")).get(20, TimeUnit.SECONDS);
    cluster.assertSameData();
  }

  @Test
  void removingTheLeaderHandsLeadershipOver() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    EtchServer old = cluster.member(leader);
    int other = (leader + 1) % 3;
    cluster.client(other).getClusterClient().removeMember(old.memberId()).get(20, TimeUnit.SECONDS);
    old.terminated().get(30, TimeUnit.SECONDS);
    cluster.members.set(leader, null);
    int next = cluster.awaitLeader();
    assertThat(next).isNotEqualTo(leader);
    cluster.client(other).getKVClient().put(b("k"), b("v")).get(20, TimeUnit.SECONDS);
    cluster.assertSameData();
    TestCluster.await(
        Duration.ofSeconds(10),
        () -> cluster.member(next).store().members().size() == 2,
        "two members listed");
  }
}
