package io.etch.server.watch;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.etch.server.maintenance.TestServer;
import io.etch.server.watch.WatchChecker.Change;
import io.etch.server.watch.WatchChecker.Received;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Watch service through jetcd over a real socket, against a one-member etch. */
class WatchJetcdTest {
  @TempDir Path dir;
  EtchServer server;
  Client client;
  KV kv;
  Watch watch;
  final WatchChecker checker = new WatchChecker();

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  static EtchServer startServer(Path dir, int port) throws Exception {
    return EtchServer.start(
        EtchConfig.parse(
            new String[] {
              "--data-dir=" + dir.resolve("data"),
              "--listen-client-urls=http://127.0.0.1:" + port,
              "--listen-peer-urls=http://127.0.0.1:0",
              "--heartbeat-interval=10",
              "--election-timeout=100"
            },
            Map.of()));
  }

  @BeforeEach
  void setUp() throws Exception {
    int port = TestServer.freePort();
    server = startServer(dir, port);
    client = Client.builder().endpoints("http://127.0.0.1:" + port).build();
    kv = client.getKVClient();
    watch = client.getWatchClient();
  }

  @AfterEach
  void tearDown() {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  long put(String k, String v) throws Exception {
    long rev = kv.put(b(k), b(v)).get(10, TimeUnit.SECONDS).getHeader().getRevision();
    checker.put(rev, k, v);
    return rev;
  }

  long delete(String k) throws Exception {
    var d = kv.delete(b(k)).get(10, TimeUnit.SECONDS);
    if (d.getDeleted() > 0) {
      checker.delete(d.getHeader().getRevision(), k);
    }
    return d.getHeader().getRevision();
  }

  /** A jetcd watch whose responses are collected for the checker. */
  final class Collector implements Watch.Listener {
    final List<Received> received = new CopyOnWriteArrayList<>();
    final AtomicReference<Throwable> error = new AtomicReference<>();
    final CountDownLatch failed = new CountDownLatch(1);

    @Override
    public void onNext(io.etcd.jetcd.watch.WatchResponse r) {
      received.add(WatchChecker.of(r));
    }

    @Override
    public void onError(Throwable t) {
      error.set(t);
      failed.countDown();
    }

    @Override
    public void onCompleted() {}

    long lastRevision() {
      long last = 0;
      for (Received r : received) {
        if (r instanceof WatchChecker.Events e) {
          for (Change c : e.changes()) {
            last = Math.max(last, c.revision());
          }
        }
      }
      return last;
    }

    void awaitRevision(long rev) throws InterruptedException {
      await(() -> lastRevision() >= rev, "watch reaches revision " + rev);
    }
  }

  static void await(BooleanSupplier cond, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!cond.getAsBoolean()) {
      assertThat(System.nanoTime() < deadline).as(what).isTrue();
      Thread.sleep(5);
    }
  }

  static Predicate<Change> key(String k) {
    return c -> c.key().equals(k);
  }

  static Predicate<Change> prefix(String p) {
    return c -> c.key().startsWith(p);
  }

  @Test
  void watchingAKeyDeliversItsPutsAndDeletesAndNothingElse() throws Exception {
    long start = put("other", "0") + 1;
    Collector c = new Collector();
    watch.watch(b("k"), WatchOption.builder().withRevision(start).build(), c);
    put("k", "1");
    put("kk", "x"); // a longer key with the same prefix is another key
    put("k", "2");
    delete("k");
    long last = put("k", "3");
    c.awaitRevision(last);
    checker.check(c.received, key("k"), start, last, false);
  }

  @Test
  void watchingAPrefixDeliversEveryKeyUnderItWithTxnRevisionsWhole() throws Exception {
    long start = put("/b", "0") + 1;
    Collector c = new Collector();
    watch.watch(b("/a/"), WatchOption.builder().isPrefix(true).withRevision(start).build(), c);
    put("/a/1", "x");
    put("/a/2", "y");
    put("/a0", "outside");
    var t =
        kv.txn()
            .Then(
                Op.put(b("/a/3"), b("t3"), PutOption.DEFAULT),
                Op.put(b("/a/4"), b("t4"), PutOption.DEFAULT),
                Op.put(b("/z"), b("t5"), PutOption.DEFAULT))
            .commit()
            .get(10, TimeUnit.SECONDS);
    long txnRev = t.getHeader().getRevision();
    checker.put(txnRev, "/a/3", "t3");
    checker.put(txnRev, "/a/4", "t4");
    checker.put(txnRev, "/z", "t5");
    var d =
        kv.delete(b("/a/"), DeleteOption.builder().isPrefix(true).build())
            .get(10, TimeUnit.SECONDS);
    long delRev = d.getHeader().getRevision();
    for (String k : List.of("/a/1", "/a/2", "/a/3", "/a/4")) {
      checker.delete(delRev, k);
    }
    c.awaitRevision(delRev);
    checker.check(c.received, prefix("/a/"), start, delRev, false);
  }

  @Test
  void prevKvCarriesTheKeysPreviousVersion() throws Exception {
    long start = put("p", "v1") + 1;
    Collector c = new Collector();
    watch.watch(b("p"), WatchOption.builder().withPrevKV(true).withRevision(start).build(), c);
    put("p", "v2");
    put("p", "v3");
    delete("p");
    long last = put("p", "v4"); // re-created: no previous version
    c.awaitRevision(last);
    checker.check(c.received, key("p"), start, last, true);
    WatchChecker.Events first = (WatchChecker.Events) c.received.get(0);
    assertThat(first.changes().get(0).prevValue()).isEqualTo("v1");
  }

  @Test
  void noPutAndNoDeleteFiltersDropThoseEvents() throws Exception {
    long start = put("f0", "x") + 1;
    Collector deletesOnly = new Collector();
    Collector putsOnly = new Collector();
    watch.watch(
        b("f"),
        WatchOption.builder().isPrefix(true).withNoPut(true).withRevision(start).build(),
        deletesOnly);
    watch.watch(
        b("f"),
        WatchOption.builder().isPrefix(true).withNoDelete(true).withRevision(start).build(),
        putsOnly);
    put("f1", "a");
    delete("f1");
    put("f2", "b");
    long lastDelete = delete("f2");
    long last = put("f3", "c");
    putsOnly.awaitRevision(last);
    deletesOnly.awaitRevision(lastDelete);
    checker.check(
        putsOnly.received,
        prefix("f").and(ch -> ch.type() == WatchChecker.Type.PUT),
        start,
        last,
        false);
    checker.check(
        deletesOnly.received,
        prefix("f").and(ch -> ch.type() == WatchChecker.Type.DELETE),
        start,
        last,
        false);
  }

  @Test
  void startRevisionReplaysHistoryThenFollowsLiveWrites() throws Exception {
    long first = put("h", "1");
    for (int i = 2; i <= 30; i++) {
      put(i % 3 == 0 ? "noise" : "h", String.valueOf(i));
    }
    Collector c = new Collector();
    watch.watch(b("h"), WatchOption.builder().withRevision(first).build(), c);
    long live = put("h", "live");
    c.awaitRevision(live);
    checker.check(c.received, key("h"), first, live, false);
  }

  @Test
  void resumingFromRPlusOneGivesExactlyTheNextEventAfterR() throws Exception {
    long r = put("r", "1");
    long noise = put("other", "n");
    long next = put("r", "2");
    put("r", "3");
    Collector c = new Collector();
    watch.watch(b("r"), WatchOption.builder().withRevision(r + 1).build(), c);
    c.awaitRevision(next);
    WatchChecker.Events firstResponse = (WatchChecker.Events) c.received.get(0);
    Change firstEvent = firstResponse.changes().get(0);
    assertThat(noise).isBetween(r + 1, next - 1);
    assertThat(firstEvent.revision()).isEqualTo(next);
    assertThat(firstEvent.value()).isEqualTo("2");
    checker.check(c.received, key("r"), r + 1, next + 1, false);
  }

  @Test
  void compactedStartRevisionFailsWithCompactedException() throws Exception {
    long first = put("c", "1");
    put("c", "2");
    long compactAt = put("c", "3");
    kv.compact(compactAt).get(10, TimeUnit.SECONDS);
    Collector c = new Collector();
    watch.watch(b("c"), WatchOption.builder().withRevision(first).build(), c);
    assertThat(c.failed.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(c.error.get()).isInstanceOf(CompactedException.class);
    assertThat(((CompactedException) c.error.get()).getCompactedRevision()).isEqualTo(compactAt);
    assertThat(c.received).isEmpty();
  }

  @Test
  void closingAWatcherStopsItsEvents() throws Exception {
    long start = put("x", "0") + 1;
    Collector c = new Collector();
    Watch.Watcher w = watch.watch(b("x"), WatchOption.builder().withRevision(start).build(), c);
    long rev = put("x", "1");
    c.awaitRevision(rev);
    w.close();
    put("x", "2");
    long last = put("x", "3");
    Collector after = new Collector();
    watch.watch(b("x"), WatchOption.builder().withRevision(last).build(), after);
    after.awaitRevision(last); // the server has applied both puts by now
    Thread.sleep(100);
    assertThat(c.lastRevision()).isEqualTo(rev);
  }
}
