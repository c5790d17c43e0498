package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random operations against the store and a deliberately naive reference model (every
 * revision of every key in a list, never compacted), including compactions, restarts and batches
 * abandoned as in a crash. After each batch, random reads at random revisions must agree with the
 * model: values, count, more, the compacted and future errors, and history events. Raise {@code
 * -Detch.mvcc.seeds} for a soak; a failing seed is printed and reproduces exactly.
 */
class MvccModelTest extends MvccTestSupport {
  private static final int OPS = 2000;

  static LongStream seeds() {
    return LongStream.range(1, 1 + Long.getLong("etch.mvcc.seeds", 3));
  }

  /** One change in the model: a put (kv) or a tombstone (kv == null) of key at (main, sub). */
  record Change(String key, long main, long sub, KeyValue kv) {}

  static final class Model {
    final List<Change> history = new ArrayList<>();

    /** An empty store is at revision 1, as etcd's: the first write transaction gets 2. */
    long revision = 1;

    long compact;
    long consistentIndex;

    KeyValue liveAt(String key, long rev) {
      KeyValue live = null;
      for (Change c : history) {
        if (c.main() > rev) {
          break;
        }
        if (c.key().equals(key)) {
          live = c.kv();
        }
      }
      return live;
    }

    /** Live key-values at rev in [from, to) (to null: single key), in key order. */
    List<KeyValue> range(String from, String to, long rev) {
      TreeMap<String, KeyValue> live = new TreeMap<>();
      for (Change c : history) {
        if (c.main() > rev) {
          break;
        }
        boolean in = to == null ? c.key().equals(from) : inRange(c.key(), from, to);
        if (in) {
          if (c.kv() == null) {
            live.remove(c.key());
          } else {
            live.put(c.key(), c.kv());
          }
        }
      }
      return new ArrayList<>(live.values());
    }
  }

  static boolean inRange(String k, String from, String to) {
    return k.compareTo(from) >= 0 && k.compareTo(to) < 0;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void storeAgreesWithReferenceModel(long seed) {
    Random rnd = new Random(seed);
    Model m = new Model();
    try {
      for (int op = 0; op < OPS; ) {
        int roll = rnd.nextInt(100);
        if (roll < 1) {
          reopen();
          assertThat(store.currentRevision()).isEqualTo(m.revision);
          assertThat(store.compactRevision()).isEqualTo(m.compact);
          assertThat(store.consistentIndex()).isEqualTo(m.consistentIndex);
        } else if (roll < 2) {
          abandonedBatch(rnd);
        } else if (roll < 5 && m.revision > m.compact) {
          long rev = m.compact + 1 + rnd.nextInt((int) (m.revision - m.compact));
          try (ApplyBatch batch = store.newBatch()) {
            var done = batch.compact(rev);
            batch.setConsistentIndex(++m.consistentIndex, 1);
            batch.commit();
            if (rnd.nextBoolean()) {
              done.join();
            }
          }
          m.compact = rev;
        } else {
          op += batch(rnd, m);
        }
        check(rnd, m);
      }
      reopen();
      check(rnd, m);
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("seed " + seed + " failed: " + e.getMessage(), e);
    }
  }

  /** Applies 1-4 random write requests in one batch, to the store and the model. */
  private int batch(Random rnd, Model m) {
    int n = 1 + rnd.nextInt(4);
    try (ApplyBatch batch = store.newBatch()) {
      for (int i = 0; i < n; i++) {
        int kind = rnd.nextInt(10);
        if (kind < 5) {
          String k = key(rnd);
          String v = "v" + rnd.nextInt(1000);
          long lease = rnd.nextInt(3);
          boolean ignoreValue = rnd.nextInt(8) == 0;
          KeyValue live = m.liveAt(k, m.revision);
          PutRequest p = new PutRequest(b(k), b(v), lease, true, ignoreValue, false);
          if (ignoreValue && live == null) {
            assertThatThrownBy(() -> batch.put(p)).hasMessage("etcdserver: key not found");
            continue;
          }
          PutResponse r = batch.put(p);
          assertThat(r.prevKv()).isEqualTo(live);
          modelPut(m, k, ignoreValue ? s(live.value()) : v, lease, 0);
          m.revision++;
        } else if (kind < 7) {
          String from = key(rnd);
          String to = rnd.nextBoolean() ? null : key(rnd);
          DeleteRangeResponse r =
              batch.deleteRange(new DeleteRangeRequest(b(from), to == null ? null : b(to), true));
          List<KeyValue> live =
              to != null && to.compareTo(from) <= 0 ? List.of() : m.range(from, to, m.revision);
          assertThat(r.prevKvs()).isEqualTo(live);
          for (int j = 0; j < live.size(); j++) {
            m.history.add(new Change(s(live.get(j).key()), m.revision + 1, j, null));
          }
          if (!live.isEmpty()) {
            m.revision++;
          }
        } else {
          txn(rnd, m, batch);
        }
      }
      batch.setConsistentIndex(++m.consistentIndex, 1);
      Commit c = batch.commit();
      assertThat(c.revision()).isEqualTo(m.revision);
    }
    return n;
  }

  /** A txn comparing a key's version; success puts two distinct keys, failure deletes one. */
  private void txn(Random rnd, Model m, ApplyBatch batch) {
    String k = key(rnd);
    KeyValue live = m.liveAt(k, m.revision);
    long version = rnd.nextBoolean() && live != null ? live.version() : rnd.nextInt(3);
    boolean expected = (live == null ? 0 : live.version()) == version;
    String p1 = key(rnd);
    String p2 = p1.equals("k0") ? "k1" : "k0";
    String d = key(rnd);
    TxnResponse r =
        batch.txn(
            new TxnRequest(
                List.of(Compare.version(b(k), Compare.CompareResult.EQUAL, version)),
                List.of(
                    RequestOp.put(PutRequest.of(b(p1), b("t" + version))),
                    RequestOp.put(PutRequest.of(b(p2), b("t" + version))),
                    RequestOp.range(RangeRequest.of(b(p1)))),
                List.of(RequestOp.deleteRange(DeleteRangeRequest.of(b(d))))));
    assertThat(r.succeeded()).isEqualTo(expected);
    if (expected) {
      modelPut(m, p1, "t" + version, 0, 0);
      modelPut(m, p2, "t" + version, 0, 1);
      m.revision++;
    } else if (m.liveAt(d, m.revision) != null) {
      m.history.add(new Change(d, m.revision + 1, 0, null));
      m.revision++;
    }
    assertThat(r.header().revision()).isEqualTo(m.revision);
  }

  private static void modelPut(Model m, String k, String v, long lease, long sub) {
    long rev = m.revision + 1;
    KeyValue live = m.liveAt(k, m.revision);
    long create = live == null ? rev : live.createRevision();
    long version = live == null ? 1 : live.version() + 1;
    m.history.add(new Change(k, rev, sub, new KeyValue(b(k), create, rev, version, b(v), lease)));
  }

  /** A batch the apply thread abandons (a crash before commit): nothing of it may survive. */
  private void abandonedBatch(Random rnd) {
    try (ApplyBatch batch = store.newBatch()) {
      batch.put(PutRequest.of(b(key(rnd)), b("lost")));
      batch.setConsistentIndex(store.consistentIndex() + 1, 1);
    }
    reopen();
  }

  private void check(Random rnd, Model m) {
    assertThat(store.currentRevision()).isEqualTo(m.revision);
    for (int i = 0; i < 3; i++) {
      String from = key(rnd);
      String to = rnd.nextBoolean() ? null : key(rnd) + (rnd.nextBoolean() ? "" : "\0");
      long rev = rnd.nextInt((int) m.revision + 3);
      long limit = rnd.nextInt(4);
      RangeRequest req =
          RangeRequest.range(b(from), to == null ? null : b(to)).withRevision(rev).withLimit(limit);
      if (rev > m.revision) {
        assertThatThrownBy(() -> store.range(req))
            .hasMessage("mvcc: required revision is a future revision");
        continue;
      }
      if (rev != 0 && rev < m.compact) {
        assertThatThrownBy(() -> store.range(req))
            .hasMessage("mvcc: required revision has been compacted");
        continue;
      }
      long at = rev == 0 ? m.revision : rev;
      List<KeyValue> all =
          to != null && to.compareTo(from) <= 0 ? List.of() : m.range(from, to, at);
      RangeResponse r = store.range(req);
      assertThat(r.count()).as("count of %s..%s at %d", from, to, at).isEqualTo(all.size());
      List<KeyValue> expected = limit > 0 && all.size() > limit ? all.subList(0, (int) limit) : all;
      assertThat(r.kvs()).as("range %s..%s at %d", from, to, at).isEqualTo(expected);
      assertThat(r.more()).isEqualTo(limit > 0 && all.size() > limit);
      assertThat(r.header().revision()).isEqualTo(m.revision);
    }
    if (m.revision > m.compact) {
      long from = m.compact + 1 + rnd.nextInt((int) (m.revision - m.compact));
      List<Event> events = store.events(from, m.revision, Integer.MAX_VALUE).events();
      List<String> expected = new ArrayList<>();
      for (Change c : m.history) {
        if (c.main() >= from) {
          KeyValue prev = c.main() - 1 >= m.compact ? m.liveAt(c.key(), c.main() - 1) : null;
          expected.add(describe(c, prev));
        }
      }
      assertThat(events.stream().map(MvccModelTest::describe).toList()).isEqualTo(expected);
    }
  }

  private static String describe(Change c, KeyValue prev) {
    return (c.kv() == null ? "DELETE " + c.key() + "@" + c.main() : "PUT " + c.kv())
        + " prev="
        + prev;
  }

  private static String describe(Event e) {
    return (e.type() == Event.EventType.DELETE
            ? "DELETE " + s(e.kv().key()) + "@" + e.kv().modRevision()
            : "PUT " + e.kv())
        + " prev="
        + e.prevKv();
  }

  private static String key(Random rnd) {
    return "k" + rnd.nextInt(8);
  }

  static {
    // Keys are ASCII, so String order is the store's unsigned byte order.
    assert Arrays.compareUnsigned(b("k1"), b("k10")) < 0;
  }
}
