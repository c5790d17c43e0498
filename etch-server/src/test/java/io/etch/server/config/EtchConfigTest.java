package io.etch.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EtchConfigTest {

  private static EtchConfig parse(String... args) throws ConfigException {
    return EtchConfig.parse(args, Map.of());
  }

  @Test
  void noFlagsGivesEtcdDefaults() throws Exception {
    EtchConfig c = parse();
    assertThat(c.name()).isEqualTo("default");
    assertThat(c.dataDir()).isEqualTo(Path.of("default.etch"));
    assertThat(c.listenClientUrls()).containsExactly(URI.create("http://127.0.0.1:2379"));
    assertThat(c.listenPeerUrls()).containsExactly(URI.create("http://127.0.0.1:2380"));
    assertThat(c.initialCluster())
        .containsExactly(Map.entry("default", List.of(URI.create("http://127.0.0.1:2380"))));
    assertThat(c.initialClusterState()).isEqualTo(EtchConfig.ClusterState.NEW);
    assertThat(c.initialClusterToken()).isEqualTo("etcd-cluster");
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofMillis(100));
    assertThat(c.electionTimeout()).isEqualTo(Duration.ofMillis(1000));
    assertThat(c.snapshotCount()).isEqualTo(100_000);
    assertThat(c.quotaBackendBytes()).isEqualTo(2L * 1024 * 1024 * 1024);
    assertThat(c.maxRequestBytes()).isEqualTo(1_572_864);
    assertThat(c.maxTxnOps()).isEqualTo(128);
    assertThat(c.autoCompaction().enabled()).isFalse();
  }

  @Test
  void dataDirFollowsName() throws Exception {
    assertThat(parse("--name", "infra1").dataDir()).isEqualTo(Path.of("infra1.etch"));
    assertThat(parse("--name=infra1", "--data-dir=/x/y").dataDir()).isEqualTo(Path.of("/x/y"));
  }

  @Test
  void environmentSuppliesFlagsAndFlagsWin() throws Exception {
    Map<String, String> env =
        Map.of(
            "ETCD_NAME", "from-env", "ETCD_INITIAL_CLUSTER_TOKEN", "tok", "ETCD_MAX_TXN_OPS", "7");
    EtchConfig c =
        EtchConfig.parse(
            new String[] {
              "--name", "from-flag", "--initial-cluster", "from-flag=http://127.0.0.1:2380"
            },
            env);
    assertThat(c.name()).isEqualTo("from-flag");
    assertThat(c.initialClusterToken()).isEqualTo("tok");
    assertThat(c.maxTxnOps()).isEqualTo(7);
  }

  @Test
  void unknownFlagIsRejectedNamingIt() {
    assertThatThrownBy(() -> parse("--no-such-flag=1"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("--no-such-flag");
  }

  @Test
  void badValuesAreRejectedNamingTheFlag() {
    assertThatThrownBy(() -> parse("--heartbeat-interval=abc"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("--heartbeat-interval");
    assertThatThrownBy(() -> parse("--initial-cluster-state=maybe"))
        .hasMessageContaining("--initial-cluster-state");
    assertThatThrownBy(() -> parse("--listen-client-urls=ftp://127.0.0.1:1"))
        .hasMessageContaining("--listen-client-urls");
    assertThatThrownBy(() -> parse("--heartbeat-interval=500", "--election-timeout=1000"))
        .hasMessageContaining("--election-timeout");
    assertThatThrownBy(() -> parse("--log-level=loud")).hasMessageContaining("--log-level");
    assertThatThrownBy(() -> parse("--auto-compaction-mode=sometimes"))
        .hasMessageContaining("auto-compaction-mode");
    assertThatThrownBy(() -> parse("--max-txn-ops=0")).hasMessageContaining("--max-txn-ops");
  }

  @Test
  void initialClusterMustContainOurNameWhenNew() {
    assertThatThrownBy(() -> parse("--name=a", "--initial-cluster=b=http://127.0.0.1:2380"))
        .hasMessageContaining("couldn't find local name \"a\"");
  }

  @Test
  void initialClusterParsesSeveralMembers() throws Exception {
    EtchConfig c =
        parse(
            "--name=infra1",
            "--initial-cluster=infra1=http://10.0.0.1:2380,infra2=http://10.0.0.2:2380,infra3=http://10.0.0.3:2380");
    assertThat(c.initialCluster()).containsOnlyKeys("infra1", "infra2", "infra3");
  }

  @Test
  void autoCompactionRetentionAsEtcdReadsIt() throws Exception {
    assertThat(parse("--auto-compaction-retention=1").autoCompaction().retention())
        .isEqualTo(Duration.ofHours(1));
    assertThat(parse("--auto-compaction-retention=30m").autoCompaction().retention())
        .isEqualTo(Duration.ofMinutes(30));
    EtchConfig rev = parse("--auto-compaction-mode=revision", "--auto-compaction-retention=1000");
    assertThat(rev.autoCompaction().revisions()).isEqualTo(1000);
  }

  @Test
  void configFileReplacesFlags(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("etcd.yaml");
    Files.writeString(
        f,
        """
        name: 'yaml-member'
        data-dir: /tmp/yaml-member
        heartbeat-interval: 50
        election-timeout: 500
        initial-cluster: yaml-member=http://127.0.0.1:2380
        enable-v2: false
        """);
    EtchConfig c = parse("--config-file", f.toString(), "--name", "ignored");
    assertThat(c.name()).isEqualTo("yaml-member");
    assertThat(c.dataDir()).isEqualTo(Path.of("/tmp/yaml-member"));
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofMillis(50));
  }

  @Test
  void authAndClientTlsFlagsAsEtcdTakesThem(@TempDir Path dir) throws Exception {
    EtchConfig d = parse();
    assertThat(d.auth().tokenType()).isEqualTo("simple");
    assertThat(d.auth().tokenTtl()).isEqualTo(Duration.ofSeconds(300));
    assertThat(d.auth().bcryptCost()).isEqualTo(10);
    assertThat(d.clientTls()).isNull();
    EtchConfig jwt = parse("--auth-token=jwt,pub-key=/k.pub,priv-key=/k,sign-method=RS256,ttl=10m");
    assertThat(jwt.auth().tokenOptions())
        .containsEntry("sign-method", "RS256")
        .containsEntry("ttl", "10m");
    assertThatThrownBy(() -> parse("--auth-token=jwt,pub-key"))
        .hasMessageContaining("auth: invalid auth options");
    assertThatThrownBy(() -> parse("--auth-token=magic"))
        .hasMessageContaining("auth: invalid auth options");
    assertThatThrownBy(() -> parse("--bcrypt-cost=3")).hasMessageContaining("--bcrypt-cost");
    assertThatThrownBy(() -> parse("--listen-client-urls=https://127.0.0.1:2379"))
        .hasMessageContaining("TLS key/cert (--cert-file, --key-file) must be provided");
    Path f = dir.resolve("etcd.yaml");
    Files.writeString(
        f,
        """
        name: 'tls-member'
        listen-client-urls: https://127.0.0.1:2379
        client-transport-security:
          cert-file: /etc/etch/server.crt
          key-file: /etc/etch/server.key
          client-cert-auth: true
          trusted-ca-file: /etc/etch/ca.crt
        """);
    EtchConfig c = parse("--config-file", f.toString());
    assertThat(c.clientTls().certFile()).isEqualTo(Path.of("/etc/etch/server.crt"));
    assertThat(c.clientTls().clientCertAuth()).isTrue();
    assertThat(c.clientTls().trustedCaFile()).isEqualTo(Path.of("/etc/etch/ca.crt"));
    assertThat(c.clientTls().minVersion()).isEqualTo("TLSv1.2");
  }

  @Test
  void unreadableConfigFileIsAClearError(@TempDir Path dir) {
    assertThatThrownBy(() -> parse("--config-file", dir.resolve("missing.yaml").toString()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("--config-file");
  }
}
