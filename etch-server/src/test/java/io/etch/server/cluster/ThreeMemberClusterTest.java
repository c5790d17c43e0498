package io.etch.server.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.etch.server.maintenance.TestServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three members over loopback: replication, reads on followers, and surviving a leader's loss. */
class ThreeMemberClusterTest {
  @TempDir Path dir;
  final EtchServer[] members = new EtchServer[3];
  final int[] clientPorts = new int[3];
  final int[] peerPorts = new int[3];
  final List<Client> clients = new ArrayList<>();

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  String initialCluster() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append("m").append(i).append("=http://127.0.0.1:").append(peerPorts[i]);
    }
    return sb.toString();
  }

  EtchServer start(int i) throws Exception {
    EtchConfig c =
        EtchConfig.parse(
            new String[] {
              "--name=m" + i,
              "--data-dir=" + dir.resolve("m" + i),
              "--listen-client-urls=http://127.0.0.1:" + clientPorts[i],
              "--advertise-client-urls=http://127.0.0.1:" + clientPorts[i],
              "--listen-peer-urls=http://127.0.0.1:" + peerPorts[i],
              "--initial-advertise-peer-urls=http://127.0.0.1:" + peerPorts[i],
              "--initial-cluster=" + initialCluster(),
              "--heartbeat-interval=20",
              "--election-timeout=200"
            },
            Map.of());
    return EtchServer.start(c);
  }

  Client client(int i) {
    Client c = Client.builder().endpoints("http://127.0.0.1:" + clientPorts[i]).build();
    clients.add(c);
    return c;
  }

  int leaderIndex() {
    for (int i = 0; i < 3; i++) {
      if (members[i] != null && members[i].raft().isLeader()) {
        return i;
      }
    }
    return -1;
  }

  int awaitLeader() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      int l = leaderIndex();
      if (l >= 0) {
        return l;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no leader elected");
  }

  @AfterEach
  void tearDown() {
    clients.forEach(Client::close);
    for (EtchServer m : members) {
      if (m != null) {
        m.close();
      }
    }
  }

  @Test
  void writesReplicateAndSurviveTheLossOfTheLeader() throws Exception {
    for (int i = 0; i < 3; i++) {
      clientPorts[i] = TestServer.freePort();
      peerPorts[i] = TestServer.freePort();
    }
    for (int i = 0; i < 3; i++) {
      members[i] = start(i);
    }
    int leader = awaitLeader();
    int follower = (leader + 1) % 3;
    // A write through a follower is forwarded to the leader.
    long rev =
        client(follower)
            .getKVClient()
            .put(b("k"), b("v1"))
            .get(20, TimeUnit.SECONDS)
            .getHeader()
            .getRevision();
    // A linearizable read on every member sees it.
    for (int i = 0; i < 3; i++) {
      var g = client(i).getKVClient().get(b("k")).get(20, TimeUnit.SECONDS);
      assertThat(g.getKvs()).as("member %d", i).hasSize(1);
      assertThat(g.getKvs().get(0).getModRevision()).isEqualTo(rev);
    }
    // Kill the leader: the other two elect a new one and keep every acknowledged write.
    members[leader].close();
    members[leader] = null;
    int newLeader = awaitLeader();
    assertThat(newLeader).isNotEqualTo(leader);
    int survivor = (newLeader + 1) % 3 == leader ? (newLeader + 2) % 3 : (newLeader + 1) % 3;
    var put2 = client(survivor).getKVClient().put(b("k"), b("v2")).get(20, TimeUnit.SECONDS);
    assertThat(put2.getHeader().getRevision()).isEqualTo(rev + 1);
    var g = client(newLeader).getKVClient().get(b("k")).get(20, TimeUnit.SECONDS);
    assertThat(g.getKvs().get(0).getValue()).isEqualTo(b("v2"));
    // The old leader restarts and catches up from the log.
    members[leader] = start(leader);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (members[leader].raft().appliedIndex() < members[newLeader].raft().appliedIndex()
        && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    var s =
        client(leader)
            .getKVClient()
            .get(b("k"), GetOption.builder().withSerializable(true).build())
            .get(20, TimeUnit.SECONDS);
    assertThat(s.getKvs().get(0).getValue()).isEqualTo(b("v2"));
    // Every member holds the same data at the same revision.
    long h0 = members[0].store().hashKV(0).hash();
    assertThat(members[1].store().hashKV(0).hash()).isEqualTo(h0);
    assertThat(members[2].store().hashKV(0).hash()).isEqualTo(h0);
  }
}
