package io.etch.server.cluster;

import static io.etch.server.cluster.TestCluster.b;
import static org.assertj.core.api.Assertions.assertThat;

import io.etch.server.EtchServer;
import io.etch.server.metrics.PromText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd's cluster metrics on every member of a three-member cluster: a leader known everywhere,
 * leader changes counted (and counted again after a leader move), round trips and bytes measured to
 * every peer, including between followers.
 */
class ClusterMetricsTest {
  @TempDir Path dir;
  TestCluster cluster;

  @AfterEach
  void tearDown() {
    if (cluster != null) {
      cluster.close();
    }
  }

  static PromText scrape(EtchServer s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      s.metrics().scrape(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return PromText.parse(out.toString(StandardCharsets.UTF_8));
  }

  private static double sample(PromText p, String family, String name, Map<String, String> l) {
    List<PromText.Sample> found = p.family(family).map(f -> f.find(name, l)).orElse(List.of());
    return found.isEmpty() ? 0 : found.get(0).value();
  }

  /** What {@link #peersMeasured} last found missing. */
  private String missing = "";

  /**
   * Every member has a round trip measured to every other member and exchanged bytes with the
   * leader.
   */
  private boolean peersMeasured() {
    String rtt = "etcd_network_peer_round_trip_time_seconds";
    String sent = "etcd_network_peer_sent_bytes_total";
    String received = "etcd_network_peer_received_bytes_total";
    for (EtchServer s : cluster.members) {
      PromText p = scrape(s);
      for (EtchServer peer : cluster.members) {
        if (peer == s) {
          continue;
        }
        String id = Long.toHexString(peer.memberId());
        missing =
            Long.toHexString(s.memberId())
                + " -> "
                + id
                + ": "
                + p.families().entrySet().stream()
                    .filter(e -> e.getKey().startsWith("etcd_network"))
                    .map(e -> e.getValue().samples().toString())
                    .toList();
        if (sample(p, rtt, rtt + "_count", Map.of("To", id)) < 1) {
          return false;
        }
        // Raft traffic flows between the leader and each follower, not between followers.
        boolean withLeader = s.raft().isLeader() || peer.raft().isLeader();
        if (withLeader
            && (sample(p, sent, sent, Map.of("To", id)) <= 0
                || sample(p, received, received, Map.of("From", id)) <= 0)) {
          return false;
        }
      }
    }
    return true;
  }

  @Test
  void everyMemberKnowsTheLeaderCountsChangesAndMeasuresItsPeers() throws Exception {
    cluster = new TestCluster(dir, 3, EtchServer.Tuning.ETCD);
    int leader = cluster.awaitLeader();
    var kv = cluster.client(leader).getKVClient();
    for (int i = 0; i < 20; i++) {
      kv.put(b("k" + i), b("v" + i)).get(20, TimeUnit.SECONDS);
    }
    cluster.awaitConverged();
    // A probe goes every second; followers probe each other too (no raft traffic between them).
    try {
      TestCluster.await(Duration.ofSeconds(15), this::peersMeasured, "round trips to every peer");
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; missing " + missing, e);
    }

    List<Double> changesBefore = new ArrayList<>();
    int leaders = 0;
    for (EtchServer s : cluster.members) {
      PromText p = scrape(s);
      assertThat(p.require("etcd_server_has_leader").value()).isEqualTo(1);
      leaders += (int) p.require("etcd_server_is_leader").value();
      double changes = p.require("etcd_server_leader_changes_seen_total").value();
      assertThat(changes).isGreaterThanOrEqualTo(1);
      changesBefore.add(changes);
      assertThat(p.require("etcd_server_proposals_applied_total").value())
          .isEqualTo(s.raft().appliedIndex());
      PromText.Family rtt = p.require("etcd_network_peer_round_trip_time_seconds");
      assertThat(rtt.type()).isEqualTo("histogram");
      // etcd's buckets: prometheus.ExponentialBuckets(0.0001, 2, 14).
      List<String> les =
          rtt.samples().stream()
              .filter(x -> x.name().endsWith("_bucket"))
              .filter(x -> x.labels().get("To").equals(rtt.samples().get(0).labels().get("To")))
              .map(x -> x.labels().get("le"))
              .toList();
      assertThat(les)
          .containsExactly(
              "1.0E-4", "2.0E-4", "4.0E-4", "8.0E-4", "0.0016", "0.0032", "0.0064", "0.0128",
              "0.0256", "0.0512", "0.1024", "0.2048", "0.4096", "0.8192", "+Inf");
    }
    assertThat(leaders).isEqualTo(1);

    int next = (leader + 1) % 3;
    cluster
        .client(leader)
        .getMaintenanceClient()
        .moveLeader(cluster.member(next).memberId())
        .get(20, TimeUnit.SECONDS);
    TestCluster.await(
        Duration.ofSeconds(10),
        () -> {
          for (int i = 0; i < 3; i++) {
            PromText p = scrape(cluster.member(i));
            if (p.require("etcd_server_leader_changes_seen_total").value() <= changesBefore.get(i)
                || p.require("etcd_server_has_leader").value() != 1) {
              return false;
            }
          }
          return scrape(cluster.member(next)).require("etcd_server_is_leader").value() == 1;
        },
        "every member to count the leader move");
  }
}
