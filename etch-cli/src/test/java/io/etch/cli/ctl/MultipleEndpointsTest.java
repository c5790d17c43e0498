package io.etch.cli.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.embedded.EtchCluster;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --endpoints} with several endpoints, as etcdctl 3.4 (clientv3's balancer) uses them: a
 * command succeeds while any endpoint answers. Measured with etcdctl 3.4.23: endpoints "dead, live,
 * dead" → {@code put k v} prints OK and {@code get k} prints k, v (exit 0) every time; only dead
 * endpoints → "Error: context deadline exceeded", exit 1.
 */
class MultipleEndpointsTest {
  @TempDir Path dir;

  static String dead() throws Exception {
    return "127.0.0.1:" + RealEtcd.freePort(); // free: nothing listens there
  }

  @Test
  void aDeadFirstEndpointIsSkippedAsEtcdctlSkipsIt() throws Exception {
    String live = "127.0.0.1:" + RealEtcd.freePort();
    try (EtchServer server =
        EtchServer.start(
            EtchConfig.parse(
                new String[] {
                  "--data-dir=" + dir.resolve("etch"),
                  "--listen-client-urls=http://" + live,
                  "--advertise-client-urls=http://" + live,
                  "--listen-peer-urls=http://127.0.0.1:" + RealEtcd.freePort(),
                  "--heartbeat-interval=10",
                  "--election-timeout=100"
                },
                Map.of()))) {
      String eps = dead() + "," + live + "," + dead();
      var put = EtchctlAgainstEtchTest.run(eps, null, "put", "k", "v");
      assertThat(put.exit()).isZero();
      assertThat(put.out()).isEqualTo("OK\n");
      for (int i = 0; i < 5; i++) { // round robin never picks the dead ones
        var get = EtchctlAgainstEtchTest.run(eps, null, "get", "k");
        assertThat(get.exit()).as(get.err()).isZero();
        assertThat(get.out()).isEqualTo("k\nv\n");
      }
      // etcdctl on the same endpoints answers the same bytes
      var etcdctl = EtcdctlSideBySideTest.etcdctl(eps, null, "get", "k");
      assertThat(etcdctl.exit()).isZero();
      assertThat(etcdctl.out()).isEqualTo("k\nv\n");
      var flag = EtchctlAgainstEtchTest.run("127.0.0.1:1", null, "--endpoints=" + eps, "get", "k");
      assertThat(flag.out()).isEqualTo("k\nv\n");

      // none up: etcdctl's error and exit code
      var none = EtchctlAgainstEtchTest.run(dead() + "," + dead(), null, "get", "k");
      assertThat(none.exit()).isEqualTo(1);
      assertThat(none.err()).endsWith("Error: context deadline exceeded\n");
    }
  }

  /** https endpoints: each is verified against its own host (the certificate names 127.0.0.1). */
  @Test
  void httpsEndpointsAreBalancedWithVerifiedCertificates() throws Exception {
    String live = "127.0.0.1:" + RealEtcd.freePort();
    Path data = dir.resolve("etch-tls");
    try (EtchServer server =
        EtchServer.start(
            EtchConfig.parse(
                new String[] {
                  "--data-dir=" + data,
                  "--listen-client-urls=https://" + live,
                  "--advertise-client-urls=https://" + live,
                  "--auto-tls",
                  "--listen-peer-urls=http://127.0.0.1:" + RealEtcd.freePort(),
                  "--heartbeat-interval=10",
                  "--election-timeout=100"
                },
                Map.of()))) {
      String cacert = "--cacert=" + data.resolve("fixtures/client/cert.pem");
      String eps = "https://" + dead() + ",https://" + live;
      var put = EtchctlAgainstEtchTest.run(eps, null, cacert, "put", "k", "v");
      assertThat(put.exit()).as(put.err()).isZero();
      assertThat(put.out()).isEqualTo("OK\n");
      var get = EtchctlAgainstEtchTest.run(eps, null, cacert, "get", "k");
      assertThat(get.out()).isEqualTo("k\nv\n");
      // without the CA the certificate is refused on every endpoint
      var refused = EtchctlAgainstEtchTest.run(eps, null, "get", "k");
      assertThat(refused.exit()).isNotZero();
    }
  }

  @Test
  void aThreeMemberClusterServesWithItsFirstEndpointStopped() throws Exception {
    try (EtchCluster cluster =
        EtchCluster.builder()
            .withMembers(3)
            .withDataDir(dir.resolve("cluster"))
            .withRaftTiming(Duration.ofMillis(10), Duration.ofMillis(100))
            .start()) {
      String eps =
          cluster.clientEndpoints().stream().map(URI::toString).collect(Collectors.joining(","));
      assertThat(EtchctlAgainstEtchTest.run(eps, null, "put", "a", "1").out()).isEqualTo("OK\n");
      cluster.member(0).stop();
      cluster.awaitLeader(Duration.ofSeconds(10));
      var put = EtchctlAgainstEtchTest.run(eps, null, "put", "b", "2");
      assertThat(put.exit()).as(put.err()).isZero();
      assertThat(put.out()).isEqualTo("OK\n");
      for (int i = 0; i < 4; i++) {
        var get = EtchctlAgainstEtchTest.run(eps, null, "get", "--prefix", "");
        assertThat(get.exit()).as(get.err()).isZero();
        assertThat(get.out()).isEqualTo("a\n1\nb\n2\n");
      }
      // the member list comes from whichever member answers
      var members = EtchctlAgainstEtchTest.run(eps, null, "member", "list");
      assertThat(members.exit()).as(members.err()).isZero();
      assertThat(members.out().lines()).hasSize(3);
      var etcdctl = EtcdctlSideBySideTest.etcdctl(eps, null, "get", "--prefix", "");
      assertThat(etcdctl.out()).isEqualTo("a\n1\nb\n2\n");
    }
  }
}
