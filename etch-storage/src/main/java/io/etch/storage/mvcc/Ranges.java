package io.etch.storage.mvcc;

import io.etch.storage.mvcc.RangeRequest.SortOrder;
import io.etch.storage.mvcc.RangeRequest.SortTarget;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * etcd's range semantics over a {@link View}: the mvcc layer (revisions in key order at a revision,
 * total count) and the apply layer (min/max filters, sort, limit and more, keys_only).
 *
 * <p>As etcd 3.5: {@code count} is the number of keys in the range at the read revision, before
 * filters and limit. The limit is pushed down to the index (plus one, to learn {@code more}) only
 * when the result needs no filtering and no explicit sort order; otherwise everything is read,
 * filtered, sorted and then cut. A sort target other than KEY with order NONE sorts ascending
 * (after the pushed-down limit, as etcd does). Ties keep key order.
 */
final class Ranges {
  private Ranges() {}

  /** Where a range reads: its current revision and how to fetch a stored revision. */
  interface View {
    /** The revision a request with revision 0 reads, and the response header's revision. */
    long revision();

    long compactRevision();

    KeyValue read(long main, long sub);

    /** A value read from RocksDB for the key's cache (readers only; the writer fills it itself). */
    default void offer(KeyIndex ki, KeyValue kv) {}

    /** Values of many revisions in order; null if some were compacted away meanwhile. */
    default List<KeyValue> readAll(List<long[]> revs) {
      return readEach(this, revs);
    }
  }

  /** One read per revision; {@link View#read} says why a missing one is missing. */
  static List<KeyValue> readEach(View v, List<long[]> revs) {
    List<KeyValue> out = new ArrayList<>(revs.size());
    for (long[] r : revs) {
      out.add(v.read(r[0], r[1]));
    }
    return out;
  }

  static RangeResponse execute(Generation s, RangeRequest r, View v) {
    if (r.key().length == 0) {
      throw new EtcdException(EtcdError.EMPTY_KEY);
    }
    long cur = v.revision();
    long rev = r.revision() <= 0 ? cur : r.revision();
    if (rev > cur) {
      throw new EtcdException(EtcdError.FUTURE_REV);
    }
    if (rev < v.compactRevision()) {
      throw new EtcdException(EtcdError.COMPACTED);
    }
    boolean filtered =
        r.minModRevision() != 0
            || r.maxModRevision() != 0
            || r.minCreateRevision() != 0
            || r.maxCreateRevision() != 0;
    if (r.rangeEnd().length == 0) {
      return single(s, r, v, cur, rev, filtered);
    }
    long limit = r.limit();
    if (r.sortOrder() != SortOrder.NONE || filtered) {
      limit = 0;
    }
    if (limit > 0) {
      limit++;
    }

    // Values come from the keys' cached versions where those are the wanted revisions; the
    // rest from RocksDB in one multi-get.
    List<KeyValue> kvs = new ArrayList<>();
    List<long[]> missing = new ArrayList<>();
    List<Integer> missingAt = new ArrayList<>();
    List<KeyIndex> missingKi = new ArrayList<>();
    long count = 0;
    for (KeyIndex ki : s.keysInRange(r.key(), r.rangeEnd())) {
      KeyIndex.Entries e = ki.entries();
      int i = e.find(rev);
      if (i == KeyIndex.NONE || e.tombstone(i)) {
        continue;
      }
      count++;
      if (!r.countOnly() && (limit <= 0 || kvs.size() < limit)) {
        KeyValue hit = ki.cachedAt(e.main(i));
        if (hit == null) {
          missing.add(new long[] {e.main(i), e.sub(i)});
          missingAt.add(kvs.size());
          missingKi.add(ki);
        }
        kvs.add(hit);
      }
    }
    if (r.countOnly() || kvs.isEmpty()) {
      return new RangeResponse(new ResponseHeader(cur), List.of(), false, count);
    }
    if (!missing.isEmpty()) {
      List<KeyValue> read = v.readAll(missing);
      if (read == null) {
        read = readEach(v, missing);
      }
      for (int j = 0; j < read.size(); j++) {
        kvs.set(missingAt.get(j), read.get(j));
        if (isNewest(missingKi.get(j), read.get(j))) {
          v.offer(missingKi.get(j), read.get(j));
        }
      }
    }
    if (filtered) {
      kvs = filter(kvs, r);
    }
    kvs = sort(kvs, r);
    boolean more = false;
    if (r.limit() > 0 && kvs.size() > r.limit()) {
      kvs = kvs.subList(0, (int) r.limit());
      more = true;
    }
    if (r.keysOnly()) {
      List<KeyValue> keys = new ArrayList<>(kvs.size());
      for (KeyValue kv : kvs) {
        keys.add(kv.withoutValue());
      }
      kvs = keys;
    }
    return new RangeResponse(new ResponseHeader(cur), List.copyOf(kvs), more, count);
  }

  /**
   * A range of one key (empty range_end), the common point read: the same result as the general
   * path (count before filters, nothing to sort, a limit of one or more never cuts), without its
   * lists.
   */
  private static RangeResponse single(
      Generation s, RangeRequest r, View v, long cur, long rev, boolean filtered) {
    KeyIndex ki = s.lookup(r.key());
    if (ki == null) {
      return new RangeResponse(new ResponseHeader(cur), List.of(), false, 0);
    }
    KeyValue hit = ki.cachedNewestAt(rev);
    if (hit != null && !filtered && !r.countOnly()) {
      return new RangeResponse(
          new ResponseHeader(cur), List.of(r.keysOnly() ? hit.withoutValue() : hit), false, 1);
    }
    KeyIndex.Entries e = ki.entries();
    int i = e.find(rev);
    if (i == KeyIndex.NONE || e.tombstone(i)) {
      return new RangeResponse(new ResponseHeader(cur), List.of(), false, 0);
    }
    if (r.countOnly()) {
      return new RangeResponse(new ResponseHeader(cur), List.of(), false, 1);
    }
    KeyValue kv = ki.cachedAt(e.main(i));
    if (kv == null) {
      kv = v.read(e.main(i), e.sub(i));
      if (isNewest(ki, kv)) {
        v.offer(ki, kv);
      }
    }
    if (filtered && !passes(kv, r)) {
      return new RangeResponse(new ResponseHeader(cur), List.of(), false, 1);
    }
    return new RangeResponse(
        new ResponseHeader(cur), List.of(r.keysOnly() ? kv.withoutValue() : kv), false, 1);
  }

  /** Only a key's newest version is worth caching: older ones serve only history reads. */
  private static boolean isNewest(KeyIndex ki, KeyValue kv) {
    KeyIndex.Entries e = ki.entries();
    return e.n() > 0 && e.main(e.n() - 1) == kv.modRevision();
  }

  private static List<KeyValue> filter(List<KeyValue> kvs, RangeRequest r) {
    List<KeyValue> out = new ArrayList<>(kvs.size());
    for (KeyValue kv : kvs) {
      if (passes(kv, r)) {
        out.add(kv);
      }
    }
    return out;
  }

  private static boolean passes(KeyValue kv, RangeRequest r) {
    return (r.maxModRevision() == 0 || kv.modRevision() <= r.maxModRevision())
        && (r.minModRevision() == 0 || kv.modRevision() >= r.minModRevision())
        && (r.maxCreateRevision() == 0 || kv.createRevision() <= r.maxCreateRevision())
        && (r.minCreateRevision() == 0 || kv.createRevision() >= r.minCreateRevision());
  }

  private static List<KeyValue> sort(List<KeyValue> kvs, RangeRequest r) {
    SortOrder order = r.sortOrder();
    if (r.sortTarget() != SortTarget.KEY && order == SortOrder.NONE) {
      order = SortOrder.ASCEND;
    } else if (r.sortTarget() == SortTarget.KEY && order == SortOrder.ASCEND) {
      order = SortOrder.NONE; // already in key order
    }
    if (order == SortOrder.NONE) {
      return kvs;
    }
    Comparator<KeyValue> c =
        switch (r.sortTarget()) {
          case KEY -> (a, b) -> Arrays.compareUnsigned(a.key(), b.key());
          case VERSION -> Comparator.comparingLong(KeyValue::version);
          case CREATE -> Comparator.comparingLong(KeyValue::createRevision);
          case MOD -> Comparator.comparingLong(KeyValue::modRevision);
          case VALUE -> (a, b) -> Arrays.compareUnsigned(a.value(), b.value());
        };
    if (order == SortOrder.DESCEND) {
      c = c.reversed();
    }
    List<KeyValue> sorted = new ArrayList<>(kvs);
    sorted.sort(c); // stable: ties stay in key order
    return sorted;
  }
}
