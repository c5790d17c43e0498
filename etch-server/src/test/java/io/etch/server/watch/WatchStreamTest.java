package io.etch.server.watch;

import static io.etch.server.watch.RawWatch.bs;
import static io.etch.server.watch.WatchJetcdTest.b;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd's Watch protocol on one raw gRPC stream: ids, creates, cancels, errors and progress requests
 * answered with the exact fields etcd 3.4 sends (checked against a real etcd).
 */
class WatchStreamTest {
  @TempDir Path dir;
  EtchServer server;
  Client client;
  KV kv;
  RawWatch w;
  final WatchChecker checker = new WatchChecker();

  @BeforeEach
  void setUp() throws Exception {
    int port = TestServer.freePort();
    server = WatchJetcdTest.startServer(dir, port);
    client = Client.builder().endpoints("http://127.0.0.1:" + port).build();
    kv = client.getKVClient();
    w = new RawWatch(port, Integer.MAX_VALUE);
  }

  @AfterEach
  void tearDown() {
    if (w != null) {
      w.close();
    }
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

  @Test
  void manyWatchesShareOneStreamEachGettingItsOwnEvents() throws Exception {
    long start = put("init", "0") + 1;
    int n = 50;
    for (int i = 0; i < n; i++) {
      w.send(RawWatch.create("key" + i).setStartRevision(start));
    }
    w.send(RawWatch.create("key").setRangeEnd(bs("kez")).setStartRevision(start)); // a range
    for (int i = 0; i <= n; i++) {
      WatchResponse created = w.next();
      assertThat(created.getCreated()).isTrue();
      assertThat(created.getWatchId()).isEqualTo(i); // etcd's automatic ids count from 0
      assertThat(created.getHeader().getMemberId()).isEqualTo(server.memberId());
      assertThat(created.getHeader().getClusterId()).isEqualTo(server.clusterId());
      assertThat(created.getHeader().getRevision()).isEqualTo(start - 1);
    }
    long last = 0;
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < n; i++) {
        last = put("key" + i, "v" + round);
      }
    }
    Map<Long, List<WatchChecker.Received>> byWatch = new HashMap<>();
    int events = 0;
    while (events < 2 * 3 * n) { // every put once for its key watch and once for the range
      WatchResponse r = w.next();
      byWatch.computeIfAbsent(r.getWatchId(), x -> new ArrayList<>()).add(WatchChecker.of(r));
      events += r.getEventsCount();
    }
    for (int i = 0; i < n; i++) {
      String k = "key" + i;
      checker.check(byWatch.get((long) i), c -> c.key().equals(k), start, last, false);
    }
    checker.check(byWatch.get((long) n), c -> c.key().startsWith("key"), start, last, false);
  }

  @Test
  void clientChosenIdsAreKeptAndADuplicateIsRefusedLikeEtcd() throws Exception {
    w.send(RawWatch.create("a").setWatchId(7));
    WatchResponse created = w.next();
    assertThat(created.getWatchId()).isEqualTo(7);
    assertThat(created.getCreated()).isTrue();
    w.send(RawWatch.create("b").setWatchId(7));
    WatchResponse dup = w.next();
    assertThat(dup.getWatchId()).isEqualTo(-1);
    assertThat(dup.getCreated()).isTrue();
    assertThat(dup.getCanceled()).isTrue();
    assertThat(dup.getCancelReason())
        .isEqualTo("mvcc: duplicate watch ID provided on the WatchStream");
    w.send(RawWatch.create("c"));
    assertThat(w.next().getWatchId()).isEqualTo(0);
  }

  @Test
  void emptyRangeAndNegativeStartRevisionAreRefusedAtCreation() throws Exception {
    w.send(RawWatch.create("b").setRangeEnd(bs("a")));
    WatchResponse empty = w.next();
    assertThat(empty.getWatchId()).isEqualTo(-1);
    assertThat(empty.getCreated() && empty.getCanceled()).isTrue();
    assertThat(empty.getCancelReason()).isEqualTo("mvcc: watcher range is empty");
    w.send(RawWatch.create("b").setStartRevision(-1));
    WatchResponse negative = w.next();
    assertThat(negative.getWatchId()).isEqualTo(-1);
    assertThat(negative.getCreated() && negative.getCanceled()).isTrue();
    assertThat(negative.getCancelReason())
        .isEqualTo("etcdserver: mvcc: required revision has been compacted");
  }

  @Test
  void emptyKeyWithRangeEndNulWatchesEveryKey() throws Exception {
    w.send(
        WatchCreateRequest.newBuilder()
            .setRangeEnd(com.google.protobuf.ByteString.copyFrom(new byte[] {0})));
    assertThat(w.next().getCreated()).isTrue();
    long r1 = put("anything", "1");
    long r2 = put("\u00ffhigh", "2");
    WatchResponse a = w.next();
    WatchResponse c = w.next();
    assertThat(a.getEvents(0).getKv().getModRevision()).isEqualTo(r1);
    assertThat(c.getEvents(0).getKv().getModRevision()).isEqualTo(r2);
  }

  @Test
  void cancelIsAnsweredCanceledAndStopsEventsWhileUnknownIdsGetNoAnswer() throws Exception {
    w.send(RawWatch.create("x"));
    assertThat(w.next().getWatchId()).isEqualTo(0);
    w.send(RawWatch.create("y"));
    assertThat(w.next().getWatchId()).isEqualTo(1);
    w.cancel(42);
    w.cancel(0);
    WatchResponse canceled = w.next();
    assertThat(canceled.getWatchId()).isEqualTo(0);
    assertThat(canceled.getCanceled()).isTrue();
    assertThat(canceled.getCreated()).isFalse();
    put("x", "after cancel");
    long rev = put("y", "still watched");
    WatchResponse next = w.next();
    assertThat(next.getWatchId()).isEqualTo(1); // nothing for 42 or for x
    assertThat(next.getEvents(0).getKv().getModRevision()).isEqualTo(rev);
  }

  @Test
  void compactedStartRevisionIsCreatedThenCanceledWithCompactRevision() throws Exception {
    long first = put("c", "1");
    long compactAt = put("c", "2");
    kv.compact(compactAt).get(10, TimeUnit.SECONDS);
    w.send(RawWatch.create("c").setStartRevision(first));
    WatchResponse created = w.next();
    assertThat(created.getCreated()).isTrue();
    assertThat(created.getCanceled()).isFalse();
    assertThat(created.getWatchId()).isEqualTo(0);
    WatchResponse compacted = w.next();
    assertThat(compacted.getWatchId()).isEqualTo(0);
    assertThat(compacted.getCanceled()).isTrue();
    assertThat(compacted.getCompactRevision()).isEqualTo(compactAt);
    assertThat(compacted.getCancelReason()).isEmpty();
    assertThat(compacted.getHeader().getRevision()).isZero(); // as etcd 3.4 sends it
    assertThat(compacted.getEventsCount()).isZero();
    // A watch at the compact revision itself is still served.
    w.send(RawWatch.create("c").setStartRevision(compactAt));
    assertThat(w.next().getWatchId()).isEqualTo(1);
    WatchResponse ev = w.next();
    assertThat(ev.getWatchId()).isEqualTo(1);
    assertThat(ev.getEvents(0).getKv().getModRevision()).isEqualTo(compactAt);
  }

  @Test
  void futureStartRevisionWaitsForThatRevision() throws Exception {
    long now = put("f", "0");
    w.send(RawWatch.create("f").setStartRevision(now + 3));
    assertThat(w.next().getCreated()).isTrue();
    put("f", "1");
    put("f", "2");
    long third = put("f", "3");
    WatchResponse r = w.next();
    assertThat(r.getEventsCount()).isEqualTo(1);
    assertThat(r.getEvents(0).getKv().getModRevision()).isEqualTo(third);
  }

  @Test
  void progressRequestAnswersWatchIdMinusOneAtTheCurrentRevision() throws Exception {
    long rev = put("p", "1");
    w.requestProgress(); // no watcher yet: every watcher (none) is synced, as etcd 3.4 answers
    WatchResponse empty = w.next();
    assertThat(empty.getWatchId()).isEqualTo(-1);
    assertThat(empty.getHeader().getRevision()).isEqualTo(rev);
    w.send(RawWatch.create("p"));
    assertThat(w.next().getCreated()).isTrue();
    long rev2 = put("p", "2");
    assertThat(w.next().getEvents(0).getKv().getModRevision()).isEqualTo(rev2);
    w.requestProgress();
    WatchResponse p = w.next();
    assertThat(p.getWatchId()).isEqualTo(-1);
    assertThat(p.getCreated() || p.getCanceled()).isFalse();
    assertThat(p.getEventsCount()).isZero();
    assertThat(p.getHeader().getRevision()).isEqualTo(rev2);
  }

  @Test
  void progressRequestWaitsWhileAWatcherIsInTheFuture() throws Exception {
    long rev = put("q", "1");
    w.send(RawWatch.create("q").setStartRevision(rev + 2));
    assertThat(w.next().getCreated()).isTrue();
    w.requestProgress();
    assertThat(w.poll(200)).as("no bookmark before the watch reached its start").isNull();
    put("other", "x");
    long start = put("other", "y");
    WatchResponse p = w.next();
    assertThat(p.getWatchId()).isEqualTo(-1);
    assertThat(p.getHeader().getRevision()).isEqualTo(start);
  }
}
