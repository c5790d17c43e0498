package io.etch.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.server.EtchServer;
import io.etch.server.etcdctl.Etcdctl;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Debian's etcdctl driving a three-member etch cluster: member, endpoint and move-leader. */
class EtcdctlClusterTest {
  @TempDir Path dir;
  TestCluster cluster;

  @AfterEach
  void tearDown() {
    if (cluster != null) {
      cluster.close();
    }
  }

  Etcdctl.Result ctl(int member, String... args) throws Exception {
    return Etcdctl.run(cluster.clientUrl(member), null, List.of(args));
  }

  String all() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < cluster.members.size(); i++) {
      if (cluster.member(i) != null) {
        sb.append(sb.length() == 0 ? "" : ",").append(cluster.clientUrl(i));
      }
    }
    return sb.toString();
  }

  @Test
  void membersEndpointsAndLeadershipThroughEtcdctl() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    cluster.awaitConverged();
    // member list: every member with its name and URLs.
    var list = ctl(0, "member", "list");
    assertThat(list.exit()).as(list.err()).isZero();
    for (int i = 0; i < 3; i++) {
      assertThat(list.out())
          .contains(
              Long.toHexString(cluster.member(i).memberId())
                  + ", started, m"
                  + i
                  + ", "
                  + cluster.peerUrl(i)
                  + ", "
                  + cluster.clientUrl(i)
                  + ", false");
    }
    // endpoint status/health --cluster reach every member through the member list.
    var status = ctl(0, "endpoint", "status", "--cluster");
    assertThat(status.exit()).as(status.err()).isZero();
    assertThat(status.out().lines().count()).isEqualTo(3);
    String leaderHex = Long.toHexString(cluster.member(leader).memberId());
    assertThat(status.out().lines().filter(l -> l.contains(", true, false, ")).count())
        .as(status.out())
        .isEqualTo(1);
    var health = ctl(0, "endpoint", "health", "--cluster");
    assertThat(health.exit()).as(health.err()).isZero();
    // (etcdctl 3.4 prints the health lines on stderr.)
    String said = health.out() + "\n" + health.err();
    assertThat(said.lines().filter(l -> l.contains("is healthy")).count()).as(said).isEqualTo(3);
    // move-leader: etcdctl finds the leader among the endpoints and asks it to hand over.
    int target = (leader + 1) % 3;
    String targetHex = Long.toHexString(cluster.member(target).memberId());
    var move = Etcdctl.run(all(), null, List.of("move-leader", targetHex));
    assertThat(move.exit()).as(move.err()).isZero();
    assertThat(move.out())
        .contains("Leadership transferred from " + leaderHex + " to " + targetHex);
    assertThat(cluster.leaderIndex()).isEqualTo(target);
    // member add --learner, then start it, promote it, update and remove it.
    int n = cluster.reserve();
    var add =
        ctl(target, "member", "add", "m" + n, "--learner", "--peer-urls=" + cluster.peerUrl(n));
    assertThat(add.exit()).as(add.err()).isZero();
    // etcdctl prints the id with %16x: an id of fewer than 16 hex digits is padded with spaces.
    Matcher id = Pattern.compile("Member +([0-9a-f]+) added to cluster").matcher(add.out());
    assertThat(id.find()).as(add.out()).isTrue();
    String shown = String.format("%16s", id.group(1)); // the id as etcdctl's %16x prints it
    assertThat(add.out()).contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\"");
    cluster.join(n);
    cluster.awaitConverged();
    Etcdctl.Result promote = null;
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      promote = ctl(0, "member", "promote", id.group(1));
      if (promote.exit() == 0 || !promote.err().contains("in sync with leader")) {
        break;
      }
      Thread.sleep(100);
    }
    assertThat(promote.exit()).as(promote.err()).isZero();
    assertThat(promote.out()).contains("Member " + shown + " promoted in cluster");
    var update = ctl(0, "member", "update", id.group(1), "--peer-urls=" + cluster.peerUrl(n));
    assertThat(update.exit()).as(update.err()).isZero();
    assertThat(update.out()).contains("Member " + shown + " updated in cluster");
    var remove = ctl(0, "member", "remove", id.group(1));
    assertThat(remove.exit()).as(remove.err()).isZero();
    assertThat(remove.out()).contains("Member " + shown + " removed from cluster");
    cluster.member(n).terminated().get(30, java.util.concurrent.TimeUnit.SECONDS);
    cluster.members.set(n, null);
    var bad = ctl(0, "member", "remove", id.group(1));
    assertThat(bad.exit()).isNotZero();
    assertThat(bad.err()).contains("etcdserver: member not found");
    cluster.assertSameData();
  }
}
