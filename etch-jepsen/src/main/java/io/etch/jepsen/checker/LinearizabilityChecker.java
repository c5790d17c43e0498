package io.etch.jepsen.checker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks that a history of operations on a key-value store is linearizable against a register per
 * key. Keys are independent objects (linearizability is compositional, Herlihy &amp; Wing), so each
 * key's sub-history is checked alone.
 *
 * <p>Per key, the search is Wing &amp; Gong's: walk the history's call and return events in
 * real-time order; at a call, try to linearize that operation now (apply it to the model; keep it
 * if the model accepts its recorded result), and at a return whose operation is not yet linearized,
 * backtrack to the latest choice. Lowe's improvement makes it practical: a configuration — the set
 * of linearized operations (a bitset) and the model state — that was explored before is never
 * explored again ("Testing for linearizability", 2017). Operations with an unknown outcome have no
 * return event: they may be linearized anywhere after their call, or never (every write is always
 * possible at the end, so omitting one is the same as placing it last).
 *
 * <p>Two reductions keep unknown operations from making the search exponential, both exact (they
 * neither hide a violation nor invent one). Values no operation observes (no read returns them, no
 * cas compares against them) are one model state, "present, unobserved": no operation can tell them
 * apart. And unknown writes that write unobserved values are interchangeable within their class
 * (puts; deletes; cas with the same expected value): once invoked they stay available forever, so a
 * linearization that uses one of them can use the earliest-invoked unused one instead; the search
 * only ever tries that one.
 *
 * <p>The search is bounded by a number of explored configurations and a time per key; a key whose
 * search hits a bound is reported {@link Verdict#UNKNOWN}, never silently passed.
 */
public final class LinearizabilityChecker {

  public enum Verdict {
    LINEARIZABLE,
    UNKNOWN,
    VIOLATION
  }

  /** Search bounds per key. */
  public record Limits(int maxConfigurations, Duration maxTime) {
    public static final Limits DEFAULT = new Limits(2_000_000, Duration.ofSeconds(30));
  }

  /**
   * The verdict for one key.
   *
   * @param ops operations checked (OK and INFO; FAIL are dropped)
   * @param configurations distinct configurations explored
   * @param explanation for a violation: the operation that cannot be placed and the model's state
   *     at the deepest partial linearization found; for unknown: which bound was hit
   */
  public record KeyResult(
      String key, Verdict verdict, int ops, long configurations, String explanation) {}

  /** Verdicts for every key of a history. */
  public record Result(List<KeyResult> keys) {
    public Verdict verdict() {
      Verdict v = Verdict.LINEARIZABLE;
      for (KeyResult k : keys) {
        if (k.verdict().compareTo(v) > 0) {
          v = k.verdict();
        }
      }
      return v;
    }

    public List<KeyResult> violations() {
      return keys.stream().filter(k -> k.verdict() == Verdict.VIOLATION).toList();
    }

    public List<KeyResult> unknowns() {
      return keys.stream().filter(k -> k.verdict() == Verdict.UNKNOWN).toList();
    }

    public int ops() {
      return keys.stream().mapToInt(KeyResult::ops).sum();
    }
  }

  /** At most this many bitset words (8 bytes each) are kept in the memo per key: 512 MiB. */
  private static final long MAX_STORED_WORDS = 1L << 26;

  private final Limits limits;

  public LinearizabilityChecker() {
    this(Limits.DEFAULT);
  }

  public LinearizabilityChecker(Limits limits) {
    this.limits = limits;
  }

  public Result check(Collection<Op> history) {
    Map<String, List<Op>> byKey = new TreeMap<>();
    for (Op op : history) {
      if (op.outcome() != Op.Outcome.FAIL) {
        byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
      }
    }
    List<KeyResult> results = new ArrayList<>();
    for (Map.Entry<String, List<Op>> e : byKey.entrySet()) {
      results.add(checkKey(e.getKey(), e.getValue()));
    }
    return new Result(results);
  }

  /** Checks one key's operations (all on that key; FAIL operations are ignored). */
  public KeyResult checkKey(String key, List<Op> keyOps) {
    List<Op> ops = new ArrayList<>();
    for (Op op : keyOps) {
      if (!op.key().equals(key)) {
        throw new IllegalArgumentException("op " + op.id() + " is not on key " + key);
      }
      // A read whose outcome is unknown has no effect and constrains nothing.
      if (op.outcome() == Op.Outcome.FAIL
          || (op.outcome() == Op.Outcome.INFO && op.type() == Op.Type.GET)) {
        continue;
      }
      ops.add(op);
    }
    return new Search(key, ops, limits).run();
  }

  /** The register model, with values interned as ints: 0 is "absent". */
  private static final class Model {
    static final int ABSENT = 0;
    static final int UNOBSERVED = 1;
    static final int REJECT = -1;

    /** Returns the state after {@code op} in {@code state}, or {@link #REJECT}. */
    static int step(int state, Encoded op) {
      switch (op.type) {
        case PUT:
          return op.value;
        case GET:
          return state == op.read ? state : REJECT;
        case DELETE:
          if (!op.known) {
            return ABSENT;
          }
          return op.succeeded == (state != ABSENT) ? ABSENT : REJECT;
        case CAS:
          boolean holds = state != ABSENT && state == op.expected;
          if (!op.known) {
            return holds ? op.value : state;
          }
          if (op.succeeded) {
            return holds ? op.value : REJECT;
          }
          return holds ? REJECT : state;
        default:
          throw new AssertionError(op.type);
      }
    }
  }

  /**
   * An operation with interned values; {@code group} numbers its class of interchangeable unknown
   * writes, -1 when it has none.
   */
  private record Encoded(
      Op.Type type,
      int value,
      int expected,
      int read,
      boolean succeeded,
      boolean known,
      int group) {}

  /** One event of the doubly linked list the search walks (a call or a return). */
  private static final class Entry {
    final int op;
    final boolean call;
    int group = -1;
    Entry match; // call: its return (null when open-ended); return: its call
    Entry prev;
    Entry next;

    Entry(int op, boolean call) {
      this.op = op;
      this.call = call;
    }
  }

  /** A configuration already explored: linearized set and model state. */
  private record Config(long[] bits, int state, int hash) {
    static Config of(long[] bits, int state) {
      return new Config(bits.clone(), state, 31 * Arrays.hashCode(bits) + state);
    }

    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Config c
          && c.hash == hash
          && c.state == state
          && Arrays.equals(c.bits, bits);
    }
  }

  private static final class Search {
    final String key;
    final List<Op> ops;
    final Limits limits;
    final Encoded[] enc;
    final List<String> values = new ArrayList<>(); // id -> value, for explanations
    final Entry head = new Entry(-1, false);

    Search(String key, List<Op> ops, Limits limits) {
      this.key = key;
      this.ops = ops;
      this.limits = limits;
      Set<String> observed = new HashSet<>();
      for (Op op : ops) {
        if (op.type() == Op.Type.GET && op.read() != null) {
          observed.add(op.read());
        }
        if (op.expected() != null) {
          observed.add(op.expected());
        }
      }
      Map<String, Integer> ids = new HashMap<>();
      Map<String, Integer> groups = new HashMap<>();
      values.add(null);
      values.add("<a value no operation observed>");
      enc = new Encoded[ops.size()];
      for (int i = 0; i < ops.size(); i++) {
        Op op = ops.get(i);
        int group = -1;
        if (op.outcome() == Op.Outcome.INFO
            && (op.value() == null || !observed.contains(op.value()))) {
          String g = op.type() == Op.Type.CAS ? "CAS\0" + op.expected() : op.type().name();
          group = groups.computeIfAbsent(g, k -> groups.size());
        }
        enc[i] =
            new Encoded(
                op.type(),
                intern(ids, observed, op.value()),
                intern(ids, observed, op.expected()),
                intern(ids, observed, op.read()),
                op.succeeded(),
                op.outcome() == Op.Outcome.OK,
                group);
      }
      groupMembers = new ArrayList<>();
      for (int g = 0; g < groups.size(); g++) {
        groupMembers.add(new ArrayList<>());
      }
      groupUsed = new int[groups.size()];
    }

    final List<List<Entry>> groupMembers; // per group, its calls by invocation time
    final int[] groupUsed; // per group, how many (always the earliest) are linearized

    int intern(Map<String, Integer> ids, Set<String> observed, String v) {
      if (v == null) {
        return Model.ABSENT;
      }
      if (!observed.contains(v)) {
        return Model.UNOBSERVED;
      }
      return ids.computeIfAbsent(
          v,
          k -> {
            values.add(k);
            return values.size() - 1;
          });
    }

    /** Builds the event list: calls and returns by time, a call first when times are equal. */
    int buildList() {
      record Event(long time, boolean call, int op) {}
      List<Event> events = new ArrayList<>(ops.size() * 2);
      int finite = 0;
      for (int i = 0; i < ops.size(); i++) {
        Op op = ops.get(i);
        events.add(new Event(op.invokeNanos(), true, i));
        if (op.completeNanos() != Op.NEVER) {
          events.add(new Event(op.completeNanos(), false, i));
          finite++;
        }
      }
      events.sort(
          Comparator.comparingLong(Event::time)
              .thenComparing(ev -> !ev.call())
              .thenComparingInt(Event::op));
      Entry[] calls = new Entry[ops.size()];
      Entry tail = head;
      for (Event ev : events) {
        Entry e = new Entry(ev.op(), ev.call());
        if (ev.call()) {
          calls[ev.op()] = e;
          e.group = enc[ev.op()].group();
          if (e.group >= 0) {
            groupMembers.get(e.group).add(e);
          }
        } else {
          e.match = calls[ev.op()];
          calls[ev.op()].match = e;
        }
        tail.next = e;
        e.prev = tail;
        tail = e;
      }
      return finite;
    }

    static void lift(Entry call) {
      call.prev.next = call.next;
      if (call.next != null) {
        call.next.prev = call.prev;
      }
      Entry ret = call.match;
      if (ret != null) {
        ret.prev.next = ret.next;
        if (ret.next != null) {
          ret.next.prev = ret.prev;
        }
      }
    }

    static void unlift(Entry call) {
      Entry ret = call.match;
      if (ret != null) {
        ret.prev.next = ret;
        if (ret.next != null) {
          ret.next.prev = ret;
        }
      }
      call.prev.next = call;
      if (call.next != null) {
        call.next.prev = call;
      }
    }

    KeyResult run() {
      int remaining = buildList();
      long[] bits = new long[(ops.size() + 63) / 64 + 1];
      // Each configuration keeps a copy of the bitset: bound the memory that takes too.
      long maxConfigurations = Math.min(limits.maxConfigurations(), MAX_STORED_WORDS / bits.length);
      Set<Config> seen = new HashSet<>();
      Entry[] stackEntry = new Entry[ops.size()];
      int[] stackState = new int[ops.size()];
      int depth = 0;
      int state = Model.ABSENT;
      Entry entry = head.next;
      long deadline = System.nanoTime() + limits.maxTime().toNanos();
      long steps = 0;
      // The deepest point reached, for the explanation of a violation.
      int bestLinearized = -1;
      int bestState = 0;
      int bestBlocked = -1;
      int bestLastWrite = -1;
      while (remaining > 0) {
        if ((++steps & 0x3fff) == 0 && System.nanoTime() > deadline) {
          return unknown("search exceeded " + limits.maxTime(), seen.size());
        }
        if (entry.call) {
          int g = entry.group;
          int next =
              g >= 0 && groupMembers.get(g).get(groupUsed[g]) != entry
                  ? Model.REJECT // an earlier interchangeable one stands for it
                  : Model.step(state, enc[entry.op]);
          if (next == state && !enc[entry.op].known()) {
            // An unknown operation that changes nothing here is the same as one never executed
            // (which is always allowed): skip it rather than branch on it.
            next = Model.REJECT;
          }
          if (next != Model.REJECT) {
            int op = entry.op;
            bits[op >>> 6] |= 1L << op;
            if (seen.add(Config.of(bits, next))) {
              if (seen.size() > maxConfigurations) {
                return unknown(
                    "search exceeded " + maxConfigurations + " configurations", seen.size());
              }
              stackEntry[depth] = entry;
              stackState[depth] = state;
              depth++;
              state = next;
              lift(entry);
              if (entry.match != null) {
                remaining--;
              }
              if (g >= 0) {
                groupUsed[g]++;
              }
              entry = head.next;
              continue;
            }
            bits[op >>> 6] &= ~(1L << op);
          }
          entry = entry.next;
        } else {
          // A return whose operation was not linearized before it: undo the latest choice.
          if (depth > bestLinearized) {
            bestLinearized = depth;
            bestState = state;
            bestBlocked = entry.op;
            bestLastWrite = -1;
            for (int i = depth - 1; i >= 0 && bestLastWrite < 0; i--) {
              if (enc[stackEntry[i].op].type() != Op.Type.GET) {
                bestLastWrite = stackEntry[i].op;
              }
            }
          }
          if (depth == 0) {
            return violation(bestLinearized, bestState, bestBlocked, bestLastWrite, seen.size());
          }
          depth--;
          Entry call = stackEntry[depth];
          state = stackState[depth];
          bits[call.op >>> 6] &= ~(1L << call.op);
          unlift(call);
          if (call.match != null) {
            remaining++;
          }
          if (call.group >= 0) {
            groupUsed[call.group]--;
          }
          entry = call.next;
        }
      }
      return new KeyResult(key, Verdict.LINEARIZABLE, ops.size(), seen.size(), "");
    }

    KeyResult unknown(String why, long configs) {
      return new KeyResult(key, Verdict.UNKNOWN, ops.size(), configs, why);
    }

    KeyResult violation(int linearized, int state, int blocked, int lastWrite, long configs) {
      Op op = ops.get(blocked);
      StringBuilder sb = new StringBuilder();
      sb.append("key ")
          .append(key)
          .append(": no linearization. Deepest partial linearization placed ")
          .append(linearized)
          .append(" ops, leaving the value ")
          .append(show(values.get(state)))
          .append(
              lastWrite < 0
                  ? ""
                  : " (last write placed: op "
                      + ops.get(lastWrite).id()
                      + " ["
                      + describe(ops.get(lastWrite))
                      + "])")
          .append("; then op ")
          .append(op.id())
          .append(" [")
          .append(describe(op))
          .append("] could not be placed before it completed. Ops concurrent with it:");
      int shown = 0;
      for (Op o : ops) {
        if (o != op
            && o.invokeNanos() <= op.completeNanos()
            && o.completeNanos() >= op.invokeNanos()) {
          if (++shown > 12) {
            sb.append("\n  ...");
            break;
          }
          sb.append("\n  ").append(o.id()).append(" [").append(describe(o)).append(']');
        }
      }
      return new KeyResult(key, Verdict.VIOLATION, ops.size(), configs, sb.toString());
    }

    static String show(String v) {
      return v == null ? "<absent>" : "'" + v + "'";
    }

    static String describe(Op op) {
      String what =
          switch (op.type()) {
            case PUT -> "put " + show(op.value());
            case GET -> "get -> " + show(op.read());
            case DELETE ->
                "delete" + (op.outcome() == Op.Outcome.OK ? " -> " + op.succeeded() : "");
            case CAS ->
                "cas "
                    + show(op.expected())
                    + " -> "
                    + show(op.value())
                    + (op.outcome() == Op.Outcome.OK ? " : " + op.succeeded() : "");
          };
      return what
          + " "
          + op.outcome()
          + " by p"
          + op.process()
          + " @"
          + op.invokeNanos()
          + ".."
          + (op.completeNanos() == Op.NEVER ? "inf" : op.completeNanos());
    }
  }
}
