package io.etch.server.watch;

import static io.etch.server.watch.RawWatch.bs;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.server.watch.WatchChecker.Change;
import io.etch.server.watch.WatchChecker.Received;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hub against a store written directly (no raft), with a short progress interval. */
class WatchHubTest {
  @TempDir Path dir;

  @Test
  void progressNotifyTellsAnIdleWatchTheRevisionAtEachInterval() throws Exception {
    try (HubHarness h = new HubHarness(dir, Duration.ofMillis(100), 1 << 20);
        Client client = Client.builder().endpoints("http://127.0.0.1:" + h.port()).build()) {
      WatchChecker checker = new WatchChecker();
      long start = h.put("other", "0") + 1;
      List<Received> got = new CopyOnWriteArrayList<>();
      Watch.Listener l = Watch.listener(r -> got.add(WatchChecker.of(r)));
      client
          .getWatchClient()
          .watch(
              ByteSequence.from("pn", UTF_8),
              WatchOption.builder().withProgressNotify(true).withRevision(start).build(),
              l);
      long rev = h.put("pn", "1");
      checker.put(rev, "pn", "1");
      long other = h.put("unwatched", "x"); // progress reports the store's revision
      WatchJetcdTest.await(
          () ->
              got.stream()
                      .filter(r -> r instanceof WatchChecker.Progress p && p.revision() == other)
                      .count()
                  >= 2,
          "two progress notifications at the latest revision");
      checker.check(got, c -> c.key().equals("pn"), start, other, false);
    }
  }

  @Test
  void aRevisionOverTheLimitIsFragmentedOnlyForWatchesThatAskForIt() throws Exception {
    try (HubHarness h = new HubHarness(dir, Duration.ofMinutes(10), 1000);
        RawWatch w = new RawWatch(h.port(), Integer.MAX_VALUE)) {
      String big = "x".repeat(300);
      for (int i = 0; i < 5; i++) {
        h.put("big/" + i, big);
      }
      WatchCreateRequest.Builder c =
          RawWatch.create("big/").setRangeEnd(bs("big0")).setPrevKv(true);
      w.send(c.clone().setFragment(true));
      w.send(c.clone());
      assertThat(w.next().getWatchId()).isEqualTo(0);
      assertThat(w.next().getWatchId()).isEqualTo(1);
      long rev = h.deleteRange("big/", "big0"); // one revision, 5 events with 300-byte prev_kv
      List<WatchResponse> fragmented = new ArrayList<>();
      List<WatchResponse> whole = new ArrayList<>();
      int events = 0;
      while (events < 10) {
        WatchResponse r = w.next();
        (r.getWatchId() == 0 ? fragmented : whole).add(r);
        events += r.getEventsCount();
      }
      assertThat(whole).hasSize(1);
      assertThat(whole.get(0).getEventsCount()).isEqualTo(5);
      assertThat(whole.get(0).getFragment()).isFalse();
      assertThat(fragmented.size()).isGreaterThan(1);
      for (int i = 0; i < fragmented.size(); i++) {
        WatchResponse f = fragmented.get(i);
        assertThat(f.getFragment()).isEqualTo(i < fragmented.size() - 1);
        assertThat(f.getSerializedSize()).isLessThan(1000 + 200);
        assertThat(f.getEventsList()).allMatch(e -> e.getKv().getModRevision() == rev);
      }
    }
  }

  /**
   * A seeded model run: one writer applies puts and multi-key deletes while streams come and go
   * with watches of every range kind, from past or current revisions, some streams not reading for
   * a while. Every watch must satisfy every guarantee up to a final progress bookmark.
   */
  @Test
  void concurrentWritesAndPausingReadersKeepEveryGuaranteeForEveryWatch() throws Exception {
    Random rnd = new Random(20240611);
    try (HubHarness h = new HubHarness(dir, Duration.ofMinutes(10), 4096)) {
      WatchChecker checker = new WatchChecker();
      Set<String> live = new HashSet<>();
      int writes = 2000;
      Thread writer =
          new Thread(
              () -> {
                Random wr = new Random(7);
                for (int i = 0; i < writes; i++) {
                  if (i % 100 == 0) {
                    Thread.yield();
                  }
                  if (wr.nextInt(20) == 0 && !live.isEmpty()) {
                    String from = "k" + wr.nextInt(3);
                    String to = "k" + (char) (from.charAt(1) + 1);
                    List<String> gone = new ArrayList<>();
                    for (String k : live) {
                      if (k.compareTo(from) >= 0 && k.compareTo(to) < 0) {
                        gone.add(k);
                      }
                    }
                    long rev = h.deleteRange(from, to);
                    for (String k : gone) {
                      checker.delete(rev, k);
                      live.remove(k);
                    }
                  } else {
                    String k = "k" + wr.nextInt(4) + wr.nextInt(10);
                    String v = "v" + i + "-".repeat(wr.nextInt(3000));
                    checker.put(h.put(k, v), k, v);
                    live.add(k);
                  }
                }
              });
      record Spec(long id, Predicate<Change> matches, boolean prevKv) {}
      record Stream(
          RawWatch raw,
          boolean pausing,
          Map<Long, Spec> specs,
          Map<Long, Long> created,
          List<WatchResponse> early) {}
      List<Stream> streams = new ArrayList<>();
      Map<RawWatch, Map<Long, Long>> starts = new HashMap<>();
      for (int s = 0; s < 12; s++) {
        if (s == 6) {
          writer.start(); // half the watches exist before the writes, half come during them
        }
        boolean pausing = s % 3 == 0;
        RawWatch raw = new RawWatch(h.port(), pausing ? 3 : Integer.MAX_VALUE);
        Map<Long, Spec> specs = new HashMap<>();
        Map<Long, Long> st = new HashMap<>();
        for (long id = 1; id <= 2; id++) {
          long cur = h.store.currentRevision();
          long start = rnd.nextBoolean() || cur < 2 ? 0 : 1 + rnd.nextInt((int) cur);
          boolean prevKv = rnd.nextBoolean();
          WatchCreateRequest.Builder c;
          Predicate<Change> m;
          // A paused stream always has a watch on every key: enough to fill its buffers.
          switch (pausing && id == 1 ? 2 : rnd.nextInt(4)) {
            case 0 -> {
              String k = "k" + rnd.nextInt(4) + rnd.nextInt(10);
              c = RawWatch.create(k);
              m = ch -> ch.key().equals(k);
            }
            case 1 -> {
              String p = "k" + rnd.nextInt(4);
              c = RawWatch.create(p).setRangeEnd(bs("k" + (char) (p.charAt(1) + 1)));
              m = ch -> ch.key().startsWith(p);
            }
            case 2 -> {
              String from = pausing && id == 1 ? "k" : "k2";
              c = RawWatch.create(from).setRangeEnd(bs("\0"));
              m = ch -> ch.key().compareTo(from) >= 0;
            }
            default -> {
              c = RawWatch.create("k15").setRangeEnd(bs("k27"));
              m = ch -> ch.key().compareTo("k15") >= 0 && ch.key().compareTo("k27") < 0;
            }
          }
          raw.send(c.setWatchId(id).setStartRevision(start).setPrevKv(prevKv));
          specs.put(id, new Spec(id, m, prevKv));
          st.put(id, start);
        }
        // Events of a watch from the past may come before the other watch's created answer.
        Map<Long, Long> created = new HashMap<>();
        List<WatchResponse> early = new ArrayList<>();
        while (created.size() < 2) {
          WatchResponse r = raw.next();
          if (r.getCreated()) {
            assertThat(r.getCanceled()).isFalse();
            created.put(r.getWatchId(), r.getHeader().getRevision());
          } else {
            early.add(r);
            if (pausing) {
              raw.request(1);
            }
          }
        }
        streams.add(new Stream(raw, pausing, specs, created, early));
        starts.put(raw, st);
        Thread.sleep(rnd.nextInt(30));
      }
      writer.join();
      long last = h.store.currentRevision();
      try {
        for (Stream s : streams) {
          if (s.pausing()) {
            s.raw().request(Integer.MAX_VALUE);
          }
          s.raw().requestProgress();
          Map<Long, List<Received>> got = new HashMap<>();
          Map<Long, Long> created = s.created();
          List<WatchResponse> early = new ArrayList<>(s.early());
          while (true) {
            WatchResponse r = early.isEmpty() ? s.raw().next() : early.remove(0);
            if (r.getWatchId() == -1) {
              assertThat(r.getHeader().getRevision()).isEqualTo(last);
              for (List<Received> l : got.values()) {
                l.add(new WatchChecker.Progress(last));
              }
              break;
            }
            got.computeIfAbsent(r.getWatchId(), x -> new ArrayList<>()).add(WatchChecker.of(r));
          }
          for (Spec spec : s.specs().values()) {
            long start = starts.get(s.raw()).get(spec.id());
            long from = start == 0 ? created.get(spec.id()) + 1 : start;
            checker.check(
                got.getOrDefault(spec.id(), List.of()), spec.matches(), from, last, spec.prevKv());
          }
        }
        // The run did exercise the slow path, not only the live fan-out.
        assertThat(h.hub.victimCount()).as("some watcher was moved aside").isPositive();
      } finally {
        for (Stream s : streams) {
          s.raw().close();
        }
      }
    }
  }
}
