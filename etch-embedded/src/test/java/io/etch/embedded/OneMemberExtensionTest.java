package io.etch.embedded;

import static io.etch.embedded.Jetcd.b;
import static io.etch.embedded.Jetcd.get;
import static io.etch.embedded.Jetcd.nextRevision;
import static io.etch.embedded.Jetcd.put;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.watch.WatchEvent;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class OneMemberExtensionTest {
  @RegisterExtension
  static final EtchClusterExtension etch = EtchClusterExtension.builder().withMembers(1).build();

  @Test
  void jetcdPutsGetsAndWatchesOnTheEndpoint() throws Exception {
    assertThat(etch.clientEndpoints()).hasSize(1);
    assertThat(etch.clientEndpoints().get(0).getHost()).isEqualTo("127.0.0.1");
    try (Client client = Jetcd.client(etch.clientEndpoints())) {
      LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
      try (Watch.Watcher w =
          client
              .getWatchClient()
              .watch(
                  b("/one/k"),
                  // From the next revision: jetcd sends the watch create asynchronously, and a
                  // watch created after the put would start past it.
                  io.etcd.jetcd.options.WatchOption.builder()
                      .withRevision(nextRevision(client))
                      .build(),
                  r -> events.addAll(r.getEvents()))) {
        put(client.getKVClient(), "/one/k", "v1");
        assertThat(get(client.getKVClient(), "/one/k", false)).isEqualTo("v1");
        WatchEvent e = events.poll(10, TimeUnit.SECONDS);
        assertThat(e).isNotNull();
        assertThat(e.getEventType()).isEqualTo(WatchEvent.EventType.PUT);
        assertThat(e.getKeyValue().getValue().toString(UTF_8)).isEqualTo("v1");
      }
    }
  }

  @Test
  void theClusterIsAParameterAndListsItsMemberWithItsEndpoint(EtchCluster cluster)
      throws Exception {
    assertThat(cluster).isSameAs(etch.cluster());
    assertThat(cluster.isRunning()).isTrue();
    assertThat(cluster.leaderIndex()).isZero();
    try (Client client = Jetcd.client(cluster.clientEndpoints())) {
      var members = client.getClusterClient().listMember().get(10, TimeUnit.SECONDS).getMembers();
      assertThat(members).hasSize(1);
      assertThat(members.get(0).getName()).isEqualTo("m0");
      assertThat(members.get(0).getClientURIs()).isEqualTo(cluster.clientEndpoints());
      assertThat(members.get(0).getPeerURIs()).isEqualTo(List.of(cluster.peerEndpoints().get(0)));
    }
  }
}
