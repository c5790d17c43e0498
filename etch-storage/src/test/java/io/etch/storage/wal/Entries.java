package io.etch.storage.wal;

import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Deterministic test entries: an entry's data is a function of its term and index. */
final class Entries {
  private Entries() {}

  static byte[] data(long term, long index, int size) {
    byte[] b = new byte[size];
    new SplittableRandom(term * 1_000_003L + index).nextBytes(b);
    return b;
  }

  static Entry entry(long term, long index, int size) {
    return new Entry(
        term,
        index,
        index % 17 == 0 ? EntryType.CONF_CHANGE : EntryType.NORMAL,
        data(term, index, size));
  }

  /** Entries {@code [from, to]} of {@code term}, sizes varying with the index. */
  static List<Entry> range(long term, long from, long to) {
    List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(entry(term, i, (int) (i * 37 % 300)));
    }
    return out;
  }
}
