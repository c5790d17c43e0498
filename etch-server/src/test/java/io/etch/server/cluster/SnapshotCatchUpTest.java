package io.etch.server.cluster;

import static io.etch.server.cluster.TestCluster.b;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.AutoCompactor;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Members too far behind for the leader's log are caught up by a snapshot of the store, streamed
 * over the peer port: a follower cut off while the log moved past it, and a new member added after
 * the last snapshot (whose configuration does not contain it).
 */
class SnapshotCatchUpTest {
  static final EtchServer.Tuning SHORT_LOG =
      new EtchServer.Tuning(AutoCompactor.DEFAULT_REVISION_INTERVAL, 10);

  @TempDir Path dir;
  TestCluster cluster;

  @AfterEach
  void tearDown() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aPartitionedFollowerIsCaughtUpBySnapshotAndItsWatchersMissNothing() throws Exception {
    cluster = new TestCluster(dir, 3, SHORT_LOG, "--snapshot-count=50");
    int leader = cluster.awaitLeader();
    int follower = (leader + 1) % 3;
    Client lc = cluster.client(leader);
    long lease = lc.getLeaseClient().grant(600).get(20, TimeUnit.SECONDS).getID();
    lc.getKVClient().put(b("before"), b("x")).get(20, TimeUnit.SECONDS);
    cluster.awaitConverged();
    // A watcher on the follower, from the next revision on.
    long from = cluster.member(follower).store().currentRevision() + 1;
    List<WatchEvent> seen = new CopyOnWriteArrayList<>();
    Watch.Watcher w =
        cluster
            .client(follower)
            .getWatchClient()
            .watch(
                b("k"),
                WatchOption.builder().isPrefix(true).withRevision(from).build(),
                r -> seen.addAll(r.getEvents()));
    cluster.isolate(follower);
    long index0 = cluster.member(follower).raft().appliedIndex();
    for (int i = 0; i < 300; i++) {
      lc.getKVClient().put(b("k" + (i % 40)), b("v" + i)).get(20, TimeUnit.SECONDS);
    }
    lc.getKVClient()
        .put(
            b("leased"),
            b("l"),
            io.etcd.jetcd.options.PutOption.builder().withLeaseId(lease).build())
        .get(20, TimeUnit.SECONDS);
    // The leader's log no longer reaches back to where the follower stopped.
    assertThat(cluster.member(leader).wal().firstIndex()).isGreaterThan(index0 + 1);
    cluster.heal();
    cluster.assertSameData();
    // Derived state came with the snapshot: leases and their keys, and the member list.
    EtchServer f = cluster.member(follower);
    assertThat(f.lessor().keys(lease)).hasSize(1);
    assertThat(f.store().members()).hasSize(3);
    var g =
        cluster
            .client(follower)
            .getKVClient()
            .get(b("k19"), GetOption.builder().withSerializable(true).build())
            .get(20, TimeUnit.SECONDS);
    assertThat(g.getKvs().get(0).getValue()).isEqualTo(b("v299"));
    // The watcher got every put in order, none twice, across the install.
    TestCluster.await(Duration.ofSeconds(20), () -> seen.size() >= 300, "300 watch events");
    Thread.sleep(200);
    assertThat(seen).hasSize(300);
    for (int i = 0; i < 300; i++) {
      assertThat(seen.get(i).getKeyValue().getValue()).isEqualTo(b("v" + i));
    }
    w.close();
    // Restarting the follower keeps what the snapshot brought.
    cluster.kill(follower);
    cluster.restart(follower);
    cluster.assertSameData();
  }

  @Test
  void aMemberAddedAfterTheLastSnapshotGetsAFreshOne() throws Exception {
    cluster = new TestCluster(dir, 3, SHORT_LOG, "--snapshot-count=50");
    int leader = cluster.awaitLeader();
    Client lc = cluster.client(leader);
    for (int i = 0; i < 200; i++) {
      lc.getKVClient().put(b("k" + i), b("v" + i)).get(20, TimeUnit.SECONDS);
    }
    int n = cluster.reserve();
    lc.getClusterClient()
        .addMember(List.of(URI.create(cluster.peerUrl(n))), true)
        .get(20, TimeUnit.SECONDS);
    EtchServer joined = cluster.join(n);
    cluster.assertSameData();
    assertThat(joined.store().members()).hasSize(4);
    assertThat(joined.raft().appliedIndex()).isGreaterThan(200);
    // Caught up by the snapshot, it is promoted and counts towards the quorum: with two of the
    // original members gone, the other one and the new member still commit.
    MembershipChangeTest.promote(cluster, leader, joined.memberId());
    int a = (leader + 1) % 3;
    int bb = (leader + 2) % 3;
    cluster.kill(a);
    lc.getKVClient().put(b("with-new-member"), b("x")).get(20, TimeUnit.SECONDS);
    cluster.restart(a);
    cluster.kill(bb);
    lc.getKVClient().put(b("again"), b("y")).get(20, TimeUnit.SECONDS);
    cluster.restart(bb);
    cluster.assertSameData();
  }
}
