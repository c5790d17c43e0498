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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class ThreeMemberExtensionTest {
  @RegisterExtension
  static final EtchClusterExtension etch = EtchClusterExtension.builder().withMembers(3).build();

  @Test
  void everyMemberServesJetcdAndWatchesSeeWritesMadeThroughAnother() throws Exception {
    EtchCluster c = etch.cluster();
    assertThat(c.clientEndpoints()).hasSize(3).doesNotHaveDuplicates();
    assertThat(new HashSet<>(c.peerEndpoints())).hasSize(3);
    try (Client writer = Jetcd.client(List.of(c.clientEndpoints().get(0)));
        Client watcher = Jetcd.client(List.of(c.clientEndpoints().get(2)))) {
      LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
      try (Watch.Watcher w =
          watcher
              .getWatchClient()
              .watch(
                  b("/three/w"),
                  // From the next revision: jetcd sends the watch create asynchronously, and a
                  // watch created after the put would start past it.
                  io.etcd.jetcd.options.WatchOption.builder()
                      .withRevision(nextRevision(watcher))
                      .build(),
                  r -> events.addAll(r.getEvents()))) {
        put(writer.getKVClient(), "/three/w", "x");
        WatchEvent e = events.poll(10, TimeUnit.SECONDS);
        assertThat(e).isNotNull();
        assertThat(e.getKeyValue().getValue().toString(UTF_8)).isEqualTo("x");
      }
      for (var endpoint : c.clientEndpoints()) {
        try (Client one = Jetcd.client(List.of(endpoint))) {
          assertThat(get(one.getKVClient(), "/three/w", false))
              .as("via %s", endpoint)
              .isEqualTo("x");
        }
      }
      var members = writer.getClusterClient().listMember().get(10, TimeUnit.SECONDS).getMembers();
      List<java.net.URI> listed = new ArrayList<>();
      members.forEach(m -> listed.addAll(m.getClientURIs()));
      assertThat(listed).containsExactlyInAnyOrderElementsOf(c.clientEndpoints());
    }
  }

  @Test
  void writesContinueWhenTheLeaderIsKilledAndTheMemberCatchesUpAfterRestart() throws Exception {
    EtchCluster c = etch.cluster();
    int leader = c.leaderIndex();
    assertThat(leader).isNotNegative();
    try (Client client = Jetcd.client(c.clientEndpoints())) {
      put(client.getKVClient(), "/three/before", "1");
      c.member(leader).kill();
      assertThat(c.member(leader).isRunning()).isFalse();
      int next = c.awaitLeader(Duration.ofSeconds(20));
      assertThat(next).isNotEqualTo(leader);
      // jetcd fails over to a live endpoint; every write is acknowledged by the remaining two.
      for (int i = 0; i < 20; i++) {
        put(client.getKVClient(), "/three/after/" + i, "v" + i);
      }
      assertThat(get(client.getKVClient(), "/three/after/19", false)).isEqualTo("v19");

      c.member(leader).restart();
      c.awaitReady(Duration.ofSeconds(20));
      try (Client back = Jetcd.client(List.of(c.member(leader).clientEndpoint()))) {
        // A linearizable read on the restarted member sees every write made while it was down.
        assertThat(get(back.getKVClient(), "/three/after/19", false)).isEqualTo("v19");
        assertThat(get(back.getKVClient(), "/three/before", false)).isEqualTo("1");
      }
    }
  }
}
