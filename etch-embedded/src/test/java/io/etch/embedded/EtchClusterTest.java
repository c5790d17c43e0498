package io.etch.embedded;

import static io.etch.embedded.Jetcd.get;
import static io.etch.embedded.Jetcd.put;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EtchClusterTest {
  @Test
  void closeStopsTheMembersAndDeletesTheTemporaryDataDirectory() throws Exception {
    Path dir;
    java.net.URI endpoint;
    try (EtchCluster c = EtchCluster.builder().start()) {
      dir = c.dataDir();
      endpoint = c.clientEndpoints().get(0);
      assertThat(Files.isDirectory(dir.resolve("m0").resolve("member").resolve("wal"))).isTrue();
      try (Client client = Jetcd.client(c.clientEndpoints())) {
        put(client.getKVClient(), "k", "v");
      }
    }
    assertThat(dir).doesNotExist();
    // Nothing listens on the endpoint any more.
    assertThatThrownBy(() -> new java.net.Socket(endpoint.getHost(), endpoint.getPort()).close())
        .isInstanceOf(java.net.ConnectException.class);
  }

  @Test
  void aGivenDataDirectoryIsKeptAndAOneMemberClusterRestartsFromIt(@TempDir Path dir)
      throws Exception {
    try (EtchCluster c = EtchCluster.builder().withDataDir(dir).start();
        Client client = Jetcd.client(c.clientEndpoints())) {
      put(client.getKVClient(), "kept", "yes");
    }
    assertThat(dir.resolve("m0").resolve("member")).isDirectory();
    try (EtchCluster c = EtchCluster.builder().withDataDir(dir).start();
        Client client = Jetcd.client(c.clientEndpoints())) {
      assertThat(get(client.getKVClient(), "kept", false)).isEqualTo("yes");
    }
  }

  @Test
  void twoClustersInOneJvmHaveTheirOwnPortsDataAndIds() throws Exception {
    try (EtchCluster a = EtchCluster.builder().start();
        EtchCluster b = EtchCluster.builder().start();
        Client ca = Jetcd.client(a.clientEndpoints());
        Client cb = Jetcd.client(b.clientEndpoints())) {
      Set<java.net.URI> all = new HashSet<>();
      all.addAll(a.clientEndpoints());
      all.addAll(a.peerEndpoints());
      all.addAll(b.clientEndpoints());
      all.addAll(b.peerEndpoints());
      assertThat(all).hasSize(4);
      assertThat(a.dataDir()).isNotEqualTo(b.dataDir());
      assertThat(a.member(0).server().clusterId()).isNotEqualTo(b.member(0).server().clusterId());
      put(ca.getKVClient(), "only-in-a", "1");
      assertThat(get(ca.getKVClient(), "only-in-a", false)).isEqualTo("1");
      assertThat(get(cb.getKVClient(), "only-in-a", false)).isNull();
    }
  }

  @Test
  void evenMemberCountsAreRefused() {
    assertThatThrownBy(() -> EtchCluster.builder().withMembers(2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("odd");
    assertThatThrownBy(() -> EtchClusterExtension.builder().withMembers(0).build())
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void extraFlagsReachTheMembers() throws Exception {
    try (EtchCluster c = EtchCluster.builder().withFlags("--max-txn-ops=3").start()) {
      assertThat(c.member(0).server().config().maxTxnOps()).isEqualTo(3);
      assertThat(List.of(c.member(0).server().config().name())).containsExactly("m0");
    }
  }
}
