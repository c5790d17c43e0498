package io.etch.server.watch;

import static io.etch.server.watch.WatchJetcdTest.b;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A watcher that stops reading must not slow writes down, and must still get every event once it
 * reads again (DESIGN: "moves slow watchers aside without losing events").
 */
class WatchSlowConsumerTest {
  @TempDir Path dir;

  @Test
  void aWatcherThatDoesNotReadNeverBlocksPutsAndLaterGetsEveryEventInOrder() throws Exception {
    int port = TestServer.freePort();
    int puts = 10_000;
    String value = "v".repeat(512); // 10,000 events of ~0.6 KiB: far past gRPC's buffers
    WatchChecker checker = new WatchChecker();
    try (EtchServer server = WatchJetcdTest.startServer(dir, port);
        Client client = Client.builder().endpoints("http://127.0.0.1:" + port).build();
        RawWatch slow = new RawWatch(port, 1)) {
      KV kv = client.getKVClient();
      long start = kv.put(b("warmup"), b("0")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
      slow.send(RawWatch.create("s/").setRangeEnd(RawWatch.bs("s0")).setPrevKv(true));
      assertThat(slow.next().getCreated()).isTrue(); // then the client stops asking

      Semaphore inFlight = new Semaphore(64);
      List<CompletableFuture<?>> all = new ArrayList<>();
      for (int i = 0; i < puts; i++) {
        String k = "s/" + (i % 100);
        String v = value + i;
        inFlight.acquire();
        all.add(
            kv.put(b(k), b(v))
                .thenAccept(r -> checker.put(r.getHeader().getRevision(), k, v))
                .whenComplete((r, e) -> inFlight.release()));
      }
      // Had apply waited for the stuck watcher, the puts would stall here until the timeout.
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      long last = start + puts;
      assertThat(server.watchHub().victimCount())
          .as("the stuck watcher was moved aside")
          .isPositive();
      assertThat(server.watchHub().unsyncedCount()).isEqualTo(1);

      // Now the watcher reads: everything arrives, in order, whole, once.
      slow.request(Integer.MAX_VALUE);
      List<WatchChecker.Received> got = new ArrayList<>();
      long seen = 0;
      while (seen < last) {
        WatchResponse r = slow.next();
        got.add(WatchChecker.of(r));
        if (r.getEventsCount() > 0) {
          seen = r.getEvents(r.getEventsCount() - 1).getKv().getModRevision();
        }
      }
      checker.check(got, c -> c.key().startsWith("s/"), start + 1, last, true);
      // And it is synced again: a new write arrives from the live path.
      long after = kv.put(b("s/after"), b("x")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
      assertThat(slow.next().getEvents(0).getKv().getModRevision()).isEqualTo(after);
      assertThat(server.watchHub().unsyncedCount()).isZero();
    }
  }
}
