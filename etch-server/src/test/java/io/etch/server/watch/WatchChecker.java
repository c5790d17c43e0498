package io.etch.server.watch;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import io.etch.api.etcdserverpb.WatchResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Checks what one watch received against the writes that happened, for etcd's watch guarantees (as
 * etcd's robustness tests name them): <b>ordered</b> (revisions never go backwards), <b>unique</b>
 * (no event twice), <b>atomic</b> (a revision's events never split across responses),
 * <b>reliable</b> (no gap: exactly the matching writes), <b>resumable</b> (a watch from R starts
 * with the first matching write at or after R), <b>bookmarkable</b> (a progress notification at R
 * comes after every event up to R), and correct prev_kv.
 *
 * <p>Writes are recorded as they are acknowledged (in any order); the checker sorts them by
 * revision and derives each key's previous value by replaying them.
 */
final class WatchChecker {
  enum Type {
    PUT,
    DELETE
  }

  /** A change as the store made it, or as a watch reported it. */
  record Change(long revision, String key, Type type, String value, String prevValue) {}

  /** What arrived on the watch, in order: a response's events, or a progress notification. */
  sealed interface Received permits Events, Progress {}

  record Events(List<Change> changes, boolean fragment) implements Received {}

  record Progress(long revision) implements Received {}

  private static final Comparator<Change> BY_REVISION_AND_KEY =
      Comparator.comparingLong(Change::revision).thenComparing(Change::key);

  private final List<Change> writes = new ArrayList<>();

  /** A raw gRPC response as the checker sees it (null for created/canceled answers). */
  static Received of(WatchResponse r) {
    if (r.getCreated() || r.getCanceled()) {
      return null;
    }
    if (r.getEventsCount() == 0) {
      return new Progress(r.getHeader().getRevision());
    }
    List<Change> cs = new ArrayList<>();
    for (io.etch.api.mvccpb.Event e : r.getEventsList()) {
      boolean put = e.getType() == io.etch.api.mvccpb.Event.EventType.PUT;
      cs.add(
          new Change(
              e.getKv().getModRevision(),
              e.getKv().getKey().toStringUtf8(),
              put ? Type.PUT : Type.DELETE,
              put ? e.getKv().getValue().toStringUtf8() : null,
              e.hasPrevKv() ? e.getPrevKv().getValue().toStringUtf8() : null));
    }
    return new Events(cs, r.getFragment());
  }

  /** A jetcd response as the checker sees it. */
  static Received of(io.etcd.jetcd.watch.WatchResponse r) {
    if (r.isProgressNotify()) {
      return new Progress(r.getHeader().getRevision());
    }
    List<Change> cs = new ArrayList<>();
    for (WatchEvent e : r.getEvents()) {
      boolean put = e.getEventType() == WatchEvent.EventType.PUT;
      KeyValue prev = e.getPrevKV();
      cs.add(
          new Change(
              e.getKeyValue().getModRevision(),
              e.getKeyValue().getKey().toString(UTF_8),
              put ? Type.PUT : Type.DELETE,
              put ? e.getKeyValue().getValue().toString(UTF_8) : null,
              prev == null || prev.getKey().isEmpty() ? null : prev.getValue().toString(UTF_8)));
    }
    return new Events(cs, false);
  }

  synchronized void put(long revision, String key, String value) {
    writes.add(new Change(revision, key, Type.PUT, value, null));
  }

  /** Record a delete only if the key existed (etcd makes no event otherwise). */
  synchronized void delete(long revision, String key) {
    writes.add(new Change(revision, key, Type.DELETE, null, null));
  }

  /** The writes in revision order (order of keys within a revision as recorded), with prevValue. */
  synchronized List<Change> history() {
    List<Change> sorted = new ArrayList<>(writes);
    sorted.sort((a, b) -> Long.compare(a.revision(), b.revision()));
    Map<String, String> live = new HashMap<>();
    List<Change> out = new ArrayList<>();
    for (Change c : sorted) {
      String prev = live.get(c.key());
      out.add(new Change(c.revision(), c.key(), c.type(), c.value(), prev));
      if (c.type() == Type.PUT) {
        live.put(c.key(), c.value());
      } else {
        live.remove(c.key());
      }
    }
    return out;
  }

  /** The watch's expected events: matching writes from {@code startRevision} to {@code upTo}. */
  List<Change> expected(Predicate<Change> watch, long startRevision, long upTo) {
    List<Change> out = new ArrayList<>();
    for (Change c : history()) {
      if (c.revision() >= startRevision && c.revision() <= upTo && watch.test(c)) {
        out.add(c);
      }
    }
    return out;
  }

  /**
   * Asserts every guarantee for a watch from {@code startRevision} that matched {@code watch} and
   * received {@code received}, complete up to revision {@code upTo}.
   */
  void check(
      List<Received> received,
      Predicate<Change> watch,
      long startRevision,
      long upTo,
      boolean prevKv) {
    List<Change> seen = new ArrayList<>();
    Map<Long, Integer> responseOfRevision = new HashMap<>();
    Set<String> unique = new HashSet<>();
    long lastRevision = 0;
    int response = 0;
    boolean inFragments = false;
    for (Received r : received) {
      if (r instanceof Progress p) {
        // bookmarkable: everything up to p.revision() must already be here
        long before = seen.stream().filter(c -> c.revision() <= p.revision()).count();
        assertThat(before)
            .as("events up to progress revision %d before the notification", p.revision())
            .isEqualTo(expected(watch, startRevision, p.revision()).size());
        assertThat(p.revision())
            .as("progress never goes back")
            .isGreaterThanOrEqualTo(lastRevision);
        continue;
      }
      Events ev = (Events) r;
      for (Change c : ev.changes()) {
        assertThat(c.revision())
            .as("ordered: revision %d after %d", c.revision(), lastRevision)
            .isGreaterThanOrEqualTo(lastRevision);
        assertThat(unique.add(c.revision() + "/" + c.key()))
            .as("unique: %s seen twice", c)
            .isTrue();
        Integer firstResponse = responseOfRevision.putIfAbsent(c.revision(), response);
        assertThat(firstResponse == null || firstResponse == response)
            .as("atomic: revision %d split across responses", c.revision())
            .isTrue();
        lastRevision = c.revision();
        seen.add(c);
      }
      inFragments = ev.fragment();
      if (!inFragments) {
        response++; // fragments of one response count as one
      }
    }
    seen.sort(BY_REVISION_AND_KEY); // within one revision the order is the store's, not checked
    List<Change> want = new ArrayList<>(expected(watch, startRevision, upTo));
    want.sort(BY_REVISION_AND_KEY);
    List<Change> got = new ArrayList<>();
    for (Change c : seen) {
      if (c.revision() <= upTo) {
        got.add(prevKv ? c : new Change(c.revision(), c.key(), c.type(), c.value(), null));
      }
    }
    List<Change> wantShaped = new ArrayList<>();
    for (Change c : want) {
      wantShaped.add(prevKv ? c : new Change(c.revision(), c.key(), c.type(), c.value(), null));
    }
    // reliable and resumable: exactly the matching writes from startRevision, nothing missing
    assertThat(got)
        .as("reliable/resumable from %d up to %d", startRevision, upTo)
        .isEqualTo(wantShaped);
  }
}
