package io.etch.jepsen.checker;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks etcd's watch guarantees and durability against a history of writes.
 *
 * <p>The reference is the <em>replay</em>: every event from revision 1, read at the end from a
 * healed cluster (the caller checks that all members replay the same). Against it:
 *
 * <ul>
 *   <li>the replay itself: revisions never go backwards, no event twice;
 *   <li>durability: every acknowledged write (put, a cas whose compare held, a delete that deleted)
 *       is in the replay at the revision its response reported, with its value — zero acknowledged
 *       writes lost;
 *   <li>integrity: every put event carries a value some write wrote to that key, no value twice
 *       (values are unique per write, so a second copy is a write applied twice), and no write that
 *       definitely failed took effect;
 *   <li>each live watch stream: ordered and unique, every event equal to the replay's at that
 *       revision, and reliable: between its first event (or its start revision) and its last one,
 *       no event of the replay is missing;
 *   <li>the final read: each key's value equals the replay's last event for it.
 * </ul>
 */
public final class WatchChecker {

  /**
   * The events one watch stream delivered, watching keys with {@code prefix} from {@code start}.
   */
  public record Stream(String name, String prefix, long startRevision, List<WatchEvent> events) {}

  /** Findings; {@link #ok()} when there are none. */
  public record Result(
      List<String> violations, int streams, int eventsChecked, int acknowledgedWrites, int lost) {
    public boolean ok() {
      return violations.isEmpty();
    }
  }

  private static final int MAX_REPORTED_PER_KIND = 20;

  private WatchChecker() {}

  /**
   * @param history every client operation (all outcomes)
   * @param replay the reference event log from revision 1
   * @param streams what each live watch stream received
   * @param finalRead each key's value read at the end (null: absent); keys not present are not
   *     checked
   */
  public static Result check(
      Collection<Op> history,
      List<WatchEvent> replay,
      List<Stream> streams,
      Map<String, String> finalRead) {
    Violations v = new Violations();
    // The replay: ordered and unique.
    Map<Long, List<WatchEvent>> byRevision = new TreeMap<>();
    long prev = 0;
    Set<String> seenRevKey = new HashSet<>();
    for (WatchEvent e : replay) {
      if (e.revision() < prev) {
        v.add("order", "replay goes backwards: " + e + " after revision " + prev);
      }
      if (!seenRevKey.add(e.revision() + "\0" + e.key())) {
        v.add("duplicate", "replay repeats " + e);
      }
      prev = Math.max(prev, e.revision());
      byRevision.computeIfAbsent(e.revision(), r -> new ArrayList<>()).add(e);
    }

    // Durability of acknowledged writes; and which writes could explain each event.
    Map<String, Op> writerOfValue = new HashMap<>(); // key \0 value -> write
    Map<String, Integer> possibleDeletes = new HashMap<>();
    int acknowledged = 0;
    int lost = 0;
    for (Op op : history) {
      if (!op.isWrite()) {
        continue;
      }
      if (op.value() != null) {
        writerOfValue.put(op.key() + "\0" + op.value(), op);
      }
      if (op.type() == Op.Type.DELETE
          && (op.outcome() == Op.Outcome.INFO
              || (op.outcome() == Op.Outcome.OK && op.succeeded()))) {
        possibleDeletes.merge(op.key(), 1, Integer::sum);
      }
      boolean effective =
          op.outcome() == Op.Outcome.OK && (op.type() == Op.Type.PUT || op.succeeded());
      if (!effective) {
        continue;
      }
      acknowledged++;
      WatchEvent expected =
          op.type() == Op.Type.DELETE
              ? WatchEvent.delete(op.revision(), op.key())
              : WatchEvent.put(op.revision(), op.key(), op.value());
      List<WatchEvent> at = byRevision.getOrDefault(op.revision(), List.of());
      if (!at.contains(expected)) {
        lost++;
        v.add(
            "lost",
            "acknowledged write lost: op "
                + op.id()
                + " ("
                + op.type()
                + " "
                + op.key()
                + (op.value() == null ? "" : "=" + op.value())
                + ") reported revision "
                + op.revision()
                + " but the replay has "
                + at);
      }
    }
    Set<String> valuesSeen = new HashSet<>();
    Map<String, Integer> deletesSeen = new HashMap<>();
    for (WatchEvent e : replay) {
      if (e.kind() == WatchEvent.Kind.DELETE) {
        deletesSeen.merge(e.key(), 1, Integer::sum);
        continue;
      }
      Op writer = writerOfValue.get(e.key() + "\0" + e.value());
      if (writer == null) {
        v.add("integrity", "event " + e + " carries a value no client wrote to " + e.key());
      } else if (writer.outcome() == Op.Outcome.FAIL) {
        v.add("integrity", "event " + e + " is the write of op " + writer.id() + " which failed");
      } else if (writer.type() == Op.Type.CAS
          && writer.outcome() == Op.Outcome.OK
          && !writer.succeeded()) {
        v.add(
            "integrity",
            "event " + e + " is the write of cas " + writer.id() + " whose compare failed");
      }
      if (!valuesSeen.add(e.key() + "\0" + e.value())) {
        v.add("integrity", "value written twice: " + e);
      }
    }
    for (Map.Entry<String, Integer> d : deletesSeen.entrySet()) {
      int possible = possibleDeletes.getOrDefault(d.getKey(), 0);
      if (d.getValue() > possible) {
        v.add(
            "integrity",
            d.getValue()
                + " delete events for "
                + d.getKey()
                + " but only "
                + possible
                + " deletes");
      }
    }

    // Live streams.
    int checked = 0;
    for (Stream s : streams) {
      checked += s.events().size();
      checkStream(s, replay, byRevision, v);
    }

    // The final read against the replay's last event per key.
    Map<String, WatchEvent> last = new HashMap<>();
    for (WatchEvent e : replay) {
      last.put(e.key(), e);
    }
    for (Map.Entry<String, String> r : finalRead.entrySet()) {
      WatchEvent e = last.get(r.getKey());
      String replayed = e == null || e.kind() == WatchEvent.Kind.DELETE ? null : e.value();
      if (!Objects.equals(replayed, r.getValue())) {
        v.add(
            "final-read",
            "final read of "
                + r.getKey()
                + " is "
                + r.getValue()
                + " but the replay ends with "
                + e);
      }
    }
    return new Result(v.list, streams.size(), checked + replay.size(), acknowledged, lost);
  }

  private static void checkStream(
      Stream s, List<WatchEvent> replay, Map<Long, List<WatchEvent>> byRevision, Violations v) {
    List<WatchEvent> events = s.events();
    long prev = 0;
    Set<String> seen = new HashSet<>();
    for (WatchEvent e : events) {
      if (!e.key().startsWith(s.prefix())) {
        v.add("filter", s.name() + " delivered " + e + " outside its range " + s.prefix());
      }
      if (e.revision() < prev) {
        v.add("order", s.name() + " goes backwards: " + e + " after revision " + prev);
      }
      if (!seen.add(e.revision() + "\0" + e.key())) {
        v.add("duplicate", s.name() + " delivered " + e + " twice");
      }
      prev = Math.max(prev, e.revision());
      if (!byRevision.getOrDefault(e.revision(), List.of()).contains(e)) {
        v.add(
            "integrity",
            s.name()
                + " delivered "
                + e
                + " but the replay has "
                + byRevision.getOrDefault(e.revision(), List.of()));
      }
    }
    if (events.isEmpty()) {
      return;
    }
    // Reliable: from the start revision to the last delivered event, nothing in range is missing.
    long from = s.startRevision();
    long to = events.get(events.size() - 1).revision();
    for (WatchEvent e : replay) {
      if (e.revision() >= from
          && e.revision() <= to
          && e.key().startsWith(s.prefix())
          && !seen.contains(e.revision() + "\0" + e.key())) {
        v.add("gap", s.name() + " missed " + e + " (it delivered up to revision " + to + ")");
      }
    }
  }

  /** Collects findings, a bounded number per kind so one systematic bug does not flood a report. */
  private static final class Violations {
    final List<String> list = new ArrayList<>();
    final Map<String, Integer> perKind = new HashMap<>();

    void add(String kind, String message) {
      int n = perKind.merge(kind, 1, Integer::sum);
      if (n <= MAX_REPORTED_PER_KIND) {
        list.add(kind + ": " + message);
      } else if (n == MAX_REPORTED_PER_KIND + 1) {
        list.add(kind + ": more findings of this kind omitted");
      }
    }
  }
}
