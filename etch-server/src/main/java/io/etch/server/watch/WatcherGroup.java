package io.etch.server.watch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The synced watchers, indexed by what they watch so that finding the watchers of a changed key
 * costs about the number of watchers that match (etcd's watcher_group, with a different index):
 *
 * <ul>
 *   <li>single keys: a hash map by key;
 *   <li>prefixes (range_end = the prefix's end): a hash map by prefix, probed with each prefix
 *       length in use that fits the changed key;
 *   <li>"every key >= k" (range_end "\0"): a sorted map by k; the head map up to the changed key is
 *       exactly the matching watchers;
 *   <li>any other range: a set scanned linearly (rare in practice: clients watch keys, prefixes).
 * </ul>
 *
 * Confined to the hub thread.
 */
final class WatcherGroup {
  private final Map<ByteKey, Set<Watcher>> keys = new HashMap<>();
  private final Map<ByteKey, Set<Watcher>> prefixes = new HashMap<>();

  /** Prefix length -> number of prefix watchers with that length. */
  private final TreeMap<Integer, Integer> prefixLengths = new TreeMap<>();

  private final TreeMap<ByteKey, Set<Watcher>> fromKeys = new TreeMap<>();
  private final Set<Watcher> ranges = new LinkedHashSet<>();
  private int size;

  int size() {
    return size;
  }

  /** Every watcher in the group. */
  List<Watcher> all() {
    List<Watcher> out = new ArrayList<>(size);
    keys.values().forEach(out::addAll);
    prefixes.values().forEach(out::addAll);
    fromKeys.values().forEach(out::addAll);
    out.addAll(ranges);
    return out;
  }

  void add(Watcher w) {
    KeyRange r = w.range();
    ByteKey k = ByteKey.of(r.key());
    if (r.isSingleKey()) {
      keys.computeIfAbsent(k, x -> new LinkedHashSet<>()).add(w);
    } else if (r.isFromKey()) {
      fromKeys.computeIfAbsent(k, x -> new LinkedHashSet<>()).add(w);
    } else if (r.isPrefix()) {
      prefixes.computeIfAbsent(k, x -> new LinkedHashSet<>()).add(w);
      prefixLengths.merge(r.key().length, 1, Integer::sum);
    } else {
      ranges.add(w);
    }
    size++;
  }

  void remove(Watcher w) {
    KeyRange r = w.range();
    ByteKey k = ByteKey.of(r.key());
    boolean removed;
    if (r.isSingleKey()) {
      removed = removeFrom(keys, k, w);
    } else if (r.isFromKey()) {
      removed = removeFrom(fromKeys, k, w);
    } else if (r.isPrefix()) {
      removed = removeFrom(prefixes, k, w);
      if (removed) {
        prefixLengths.computeIfPresent(r.key().length, (len, n) -> n == 1 ? null : n - 1);
      }
    } else {
      removed = ranges.remove(w);
    }
    if (removed) {
      size--;
    }
  }

  private static boolean removeFrom(Map<ByteKey, Set<Watcher>> m, ByteKey k, Watcher w) {
    Set<Watcher> s = m.get(k);
    if (s == null || !s.remove(w)) {
      return false;
    }
    if (s.isEmpty()) {
      m.remove(k);
    }
    return true;
  }

  /** Calls {@code f} once for each watcher whose range contains {@code key}. */
  void forEachMatching(byte[] key, Consumer<Watcher> f) {
    if (!keys.isEmpty()) {
      Set<Watcher> s = keys.get(ByteKey.of(key));
      if (s != null) {
        s.forEach(f);
      }
    }
    for (int len : prefixLengths.keySet()) {
      if (len > key.length) {
        break;
      }
      Set<Watcher> s = prefixes.get(ByteKey.prefix(key, len));
      if (s != null) {
        s.forEach(f);
      }
    }
    if (!fromKeys.isEmpty()) {
      for (Set<Watcher> s : fromKeys.headMap(ByteKey.of(key), true).values()) {
        s.forEach(f);
      }
    }
    for (Watcher w : ranges) {
      if (w.range().contains(key)) {
        f.accept(w);
      }
    }
  }
}
