package io.etch.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterIdsTest {
  // Read off etcd 3.4.23 started with --initial-advertise-peer-urls http://127.0.0.1:2380 and the
  // default token: `etcdctl endpoint status -w json` printed these (as unsigned decimals).
  private static final long ETCD_MEMBER = Long.parseUnsignedLong("13195394291058371180");
  private static final long ETCD_CLUSTER = Long.parseUnsignedLong("2037210783374497686");

  @Test
  void memberIdMatchesEtcdForTheSamePeerUrlAndToken() {
    assertThat(ClusterIds.memberId(List.of(URI.create("http://127.0.0.1:2380")), "etcd-cluster"))
        .isEqualTo(ETCD_MEMBER);
  }

  @Test
  void clusterIdMatchesEtcdForOneMember() {
    assertThat(ClusterIds.clusterId(List.of(ETCD_MEMBER))).isEqualTo(ETCD_CLUSTER);
  }

  @Test
  void differentTokensGiveDifferentIds() {
    List<URI> urls = List.of(URI.create("http://127.0.0.1:2380"));
    assertThat(ClusterIds.memberId(urls, "a")).isNotEqualTo(ClusterIds.memberId(urls, "b"));
  }
}
