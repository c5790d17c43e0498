package io.etch.server.cluster;

import static io.etch.server.cluster.TestCluster.b;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.etch.server.EtchServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * In-process clusters under faults: a minority cut off, the leader cut off from the majority, a
 * five-member cluster losing two members and then its quorum, leases kept alive through a follower.
 * Every test ends with all members holding the same data at the same revision.
 */
class ClusterFaultsTest {
  @TempDir Path dir;
  TestCluster cluster;

  @AfterEach
  void tearDown() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aPartitionedFollowerRejoinsAndCatchesUp() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    int follower = (leader + 1) % 3;
    Client c = cluster.client(leader);
    cluster.isolate(follower);
    for (int i = 0; i < 100; i++) {
      c.getKVClient().put(b("k" + i), b("v" + i)).get(20, TimeUnit.SECONDS);
    }
    // The cut-off follower serves its stale state only to serializable reads; a linearizable read
    // there cannot complete (no leader reachable).
    var stale =
        cluster
            .client(follower)
            .getKVClient()
            .get(b("k99"), GetOption.builder().withSerializable(true).build())
            .get(20, TimeUnit.SECONDS);
    assertThat(stale.getKvs()).isEmpty();
    assertThat(cluster.leaderIndex()).isEqualTo(leader); // pre-vote: no disruption
    cluster.heal();
    cluster.assertSameData();
    var fresh = cluster.client(follower).getKVClient().get(b("k99")).get(20, TimeUnit.SECONDS);
    assertThat(fresh.getKvs()).hasSize(1);
  }

  @Test
  void aLeaderCutOffFromTheMajorityIsReplacedAndLosesNoAcknowledgedWrite() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int old = cluster.awaitLeader();
    Client oldClient = cluster.client(old);
    oldClient.getKVClient().put(b("k"), b("before")).get(20, TimeUnit.SECONDS);
    cluster.isolate(old);
    // A write to the cut-off leader cannot commit: the client gets an error, never a success.
    boolean acknowledged;
    try {
      oldClient.getKVClient().put(b("lost?"), b("x")).get(3, TimeUnit.SECONDS);
      acknowledged = true;
    } catch (ExecutionException | TimeoutException e) {
      acknowledged = false;
    }
    assertThat(acknowledged).isFalse();
    // The majority elects a new leader and goes on.
    int other = (old + 1) % 3;
    TestCluster.await(
        Duration.ofSeconds(20),
        () -> {
          int l = cluster.leaderIndex();
          return l >= 0 && l != old && cluster.member(l).raft().term() > 0;
        },
        "a new leader among the majority");
    cluster.client(other).getKVClient().put(b("k"), b("after")).get(20, TimeUnit.SECONDS);
    // The old leader stepped down (check quorum) and, once healed, takes the new history.
    TestCluster.await(
        Duration.ofSeconds(10),
        () -> !cluster.member(old).raft().isLeader(),
        "the old leader to step down");
    cluster.heal();
    cluster.assertSameData();
    var g = oldClient.getKVClient().get(b("k")).get(20, TimeUnit.SECONDS);
    assertThat(g.getKvs().get(0).getValue()).isEqualTo(b("after"));
  }

  @Test
  void aMemberWhoseWalTailWasTornRestartsAndCatchesUp() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    Client lc = cluster.client(leader);
    for (int i = 0; i < 50; i++) {
      lc.getKVClient().put(b("k" + i), b("v" + i)).get(20, TimeUnit.SECONDS);
    }
    int f = (leader + 1) % 3;
    cluster.awaitConverged();
    cluster.kill(f);
    // Damage the last record of its newest WAL segment, as a write cut short by a crash would.
    Path last;
    try (var files =
        Files.list(cluster.dataRoot.resolve("m" + f).resolve("member").resolve("wal"))) {
      last =
          files
              .filter(p -> p.getFileName().toString().endsWith(".wal"))
              .max(java.util.Comparator.comparing(p -> p.getFileName().toString()))
              .orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(last);
    int end = bytes.length;
    while (end > 0 && bytes[end - 1] == 0) {
      end--; // the preallocated zeros after the last record
    }
    assertThat(end).isPositive();
    for (int i = Math.max(0, end - 6); i < end; i++) {
      bytes[i] ^= 0x5a;
    }
    Files.write(last, bytes);
    for (int i = 50; i < 60; i++) {
      lc.getKVClient().put(b("k" + i), b("v" + i)).get(20, TimeUnit.SECONDS);
    }
    // It repairs the torn tail, rejoins, and takes what it lost from the leader.
    cluster.restart(f);
    cluster.assertSameData();
    var g =
        cluster
            .client(f)
            .getKVClient()
            .get(b("k59"), GetOption.builder().withSerializable(true).build())
            .get(20, TimeUnit.SECONDS);
    assertThat(g.getKvs()).hasSize(1);
  }

  @Test
  void everyMemberRestartsWithItsDataKept() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    Client c = cluster.client(leader);
    long rev = 0;
    for (int i = 0; i < 30; i++) {
      rev =
          c.getKVClient()
              .put(b("k" + i), b("v" + i))
              .get(20, TimeUnit.SECONDS)
              .getHeader()
              .getRevision();
    }
    cluster.awaitConverged();
    for (int i = 0; i < 3; i++) {
      cluster.kill(i);
    }
    // Started together again (each waits for a quorum to publish), they elect and serve.
    java.util.List<java.util.concurrent.CompletableFuture<EtchServer>> back =
        new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      int n = i;
      back.add(
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> {
                try {
                  return cluster.restart(n);
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    for (var f : back) {
      f.get(60, TimeUnit.SECONDS);
    }
    int l = cluster.awaitLeader();
    for (int i = 0; i < 3; i++) {
      assertThat(cluster.member(i).store().currentRevision()).isGreaterThanOrEqualTo(rev);
    }
    var g = cluster.client((l + 1) % 3).getKVClient().get(b("k29")).get(20, TimeUnit.SECONDS);
    assertThat(g.getKvs().get(0).getValue()).isEqualTo(b("v29"));
    assertThat(g.getKvs().get(0).getModRevision()).isEqualTo(rev);
    cluster.assertSameData();
  }

  @Test
  void fiveMembersSurviveTwoLossesAndRecoverTheirQuorum() throws Exception {
    cluster = new TestCluster(dir, 5, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    cluster.client(leader).getKVClient().put(b("k"), b("1")).get(20, TimeUnit.SECONDS);
    // Two followers go: three of five still commit.
    int a = (leader + 1) % 5;
    int bb = (leader + 2) % 5;
    cluster.kill(a);
    cluster.kill(bb);
    cluster.client(leader).getKVClient().put(b("k"), b("2")).get(20, TimeUnit.SECONDS);
    // A third goes: no quorum, a write cannot be acknowledged.
    int c3 = (leader + 3) % 5;
    cluster.kill(c3);
    Client lc = cluster.client(leader);
    boolean acknowledged;
    try {
      lc.getKVClient().put(b("k"), b("3")).get(2, TimeUnit.SECONDS);
      acknowledged = true;
    } catch (ExecutionException | TimeoutException e) {
      acknowledged = false;
    }
    assertThat(acknowledged).isFalse();
    // Members come back with their data: the cluster serves again and every member agrees.
    cluster.restart(a);
    cluster.restart(bb);
    cluster.restart(c3);
    int l = cluster.awaitLeader();
    cluster.client(l).getKVClient().put(b("k"), b("4")).get(20, TimeUnit.SECONDS);
    var g = cluster.client((l + 1) % 5).getKVClient().get(b("k")).get(20, TimeUnit.SECONDS);
    assertThat(g.getKvs().get(0).getValue()).isEqualTo(b("4"));
    cluster.assertSameData();
  }

  @Test
  void leasesKeptAliveThroughAFollowerOutliveTheirTtlAndALeaderChange() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    int follower = (leader + 1) % 3;
    Client fc = cluster.client(follower);
    long lease = fc.getLeaseClient().grant(3).get(20, TimeUnit.SECONDS).getID();
    fc.getKVClient()
        .put(
            b("owned"),
            b("x"),
            io.etcd.jetcd.options.PutOption.builder().withLeaseId(lease).build())
        .get(20, TimeUnit.SECONDS);
    // Keep-alives and time-to-live sent to the follower are answered by the leader.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
    while (System.nanoTime() < deadline) {
      var ka = fc.getLeaseClient().keepAliveOnce(lease).get(20, TimeUnit.SECONDS);
      assertThat(ka.getTTL()).isEqualTo(3);
      Thread.sleep(500);
    }
    var ttl =
        fc.getLeaseClient()
            .timeToLive(lease, io.etcd.jetcd.options.LeaseOption.DEFAULT)
            .get(20, TimeUnit.SECONDS);
    assertThat(ttl.getTTL()).isBetween(1L, 3L);
    assertThat(
            cluster.client(leader).getKVClient().get(b("owned")).get(20, TimeUnit.SECONDS).getKvs())
        .hasSize(1);
    // The leader goes: the new leader renews remaining TTLs rather than expiring them early.
    cluster.kill(leader);
    cluster.awaitLeader();
    var ka = fc.getLeaseClient().keepAliveOnce(lease).get(20, TimeUnit.SECONDS);
    assertThat(ka.getTTL()).isEqualTo(3);
    assertThat(fc.getKVClient().get(b("owned")).get(20, TimeUnit.SECONDS).getKvs()).hasSize(1);
    // Without keep-alives it expires, on every member.
    TestCluster.await(
        Duration.ofSeconds(15),
        () -> !cluster.member(follower).lessor().exists(lease),
        "the lease to expire");
    cluster.assertSameData();
  }
}
