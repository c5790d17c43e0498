package io.etch.server.cluster;

import static io.etch.server.cluster.TestCluster.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.server.EtchServer;
import io.etch.server.tls.TestCerts;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peer TLS: three members whose peer URLs are https, each with a certificate from one CA and
 * requiring the same of its peers (--peer-client-cert-auth), form a cluster; a member whose
 * certificate comes from another CA cannot join it.
 */
class PeerTlsTest {
  @TempDir Path dir;
  TestCluster cluster;

  @AfterEach
  void tearDown() {
    if (cluster != null) {
      cluster.close();
    }
  }

  static List<String> peerTlsFlags(TestCerts.Files2 f, Path ca) {
    return List.of(
        "--peer-cert-file=" + f.cert(),
        "--peer-key-file=" + f.key(),
        "--peer-trusted-ca-file=" + ca,
        "--peer-client-cert-auth");
  }

  @Test
  void membersWithCertificatesFromTheCaFormAClusterAndOthersCannotJoin() throws Exception {
    Path certs = Files.createDirectories(dir.resolve("certs"));
    TestCerts ca = TestCerts.newCa("etch-peer-ca");
    Path caFile = ca.writeCa(certs.resolve("ca.crt"));
    TestCerts other = TestCerts.newCa("someone-else");
    Path otherCa = other.writeCa(certs.resolve("other-ca.crt"));
    TestCerts.Files2[] issued = new TestCerts.Files2[4];
    for (int i = 0; i < 3; i++) {
      issued[i] = ca.issue("m" + i, certs, "m" + i);
    }
    issued[3] = other.issue("m3", certs, "m3");
    cluster =
        new TestCluster(
            dir,
            3,
            EtchServer.Tuning.ETCD,
            "https",
            i -> peerTlsFlags(issued[i], i == 3 ? otherCa : caFile));
    int leader = cluster.awaitLeader();
    long rev =
        cluster
            .client((leader + 1) % 3)
            .getKVClient()
            .put(b("over"), b("tls"))
            .get(20, TimeUnit.SECONDS)
            .getHeader()
            .getRevision();
    cluster.awaitConverged();
    for (int i = 0; i < 3; i++) {
      assertThat(cluster.member(i).store().currentRevision()).isGreaterThanOrEqualTo(rev);
    }
    // A member with a certificate from another CA: added, but it cannot reach the others (its
    // certificate is refused, and it refuses theirs), so it cannot join.
    int n = cluster.reserve();
    cluster
        .client(leader)
        .getClusterClient()
        .addMember(List.of(URI.create(cluster.peerUrl(n))), true)
        .get(20, TimeUnit.SECONDS);
    assertThatThrownBy(() -> cluster.join(n))
        .hasMessageContaining("cannot fetch the cluster's members");
    cluster.assertSameData();
  }
}
