package io.etch.storage.wal;

import io.etch.raft.Entry;
import java.util.Arrays;

/**
 * The raft log's index: for every entry in {@code [offset+1, offset+size]} its term and location in
 * the WAL (segment seq and byte offset), and the entry itself for a recent suffix kept in memory up
 * to a byte budget. Entry {@code offset} is the dummy entry (last compacted or snapshot entry); its
 * term may be unknown (-1) while a replay has not reached the snapshot marker.
 *
 * <p>Not thread-safe: its owner ({@link WalStorage} or a replay) guards it.
 *
 * <p>Invariant: {@code cached[j]} is non-null exactly for {@code cacheFrom <= offset+1+j}.
 */
final class EntryLog {
  static final long UNKNOWN_TERM = -1;

  private long offset;
  private long offsetTerm;
  private int size;
  private long[] terms = new long[64];
  private long[] locs = new long[64];
  private Entry[] cached = new Entry[64];
  private long cacheFrom;
  private long cachedBytes;
  private final long cacheLimit;

  EntryLog(long offset, long offsetTerm, long cacheLimit) {
    this.offset = offset;
    this.offsetTerm = offsetTerm;
    this.cacheFrom = offset + 1;
    this.cacheLimit = cacheLimit;
  }

  static long location(long seq, long byteOffset) {
    return (seq << 40) | byteOffset;
  }

  static long seqOf(long location) {
    return location >>> 40;
  }

  static long byteOffsetOf(long location) {
    return location & ((1L << 40) - 1);
  }

  long offset() {
    return offset;
  }

  long offsetTerm() {
    return offsetTerm;
  }

  void setOffsetTerm(long term) {
    offsetTerm = term;
  }

  long firstIndex() {
    return offset + 1;
  }

  long lastIndex() {
    return offset + size;
  }

  /** Term of entry {@code index} in {@code [offset, lastIndex]}. */
  long term(long index) {
    return index == offset ? offsetTerm : terms[slot(index)];
  }

  long location(long index) {
    return locs[slot(index)];
  }

  /** The entry if held in memory, else null (read it back from {@link #location}). */
  Entry cached(long index) {
    return cached[slot(index)];
  }

  long cachedBytes() {
    return cachedBytes;
  }

  private int slot(long index) {
    if (index <= offset || index > offset + size) {
      throw new IndexOutOfBoundsException(
          "index " + index + " outside [" + (offset + 1) + ", " + (offset + size) + "]");
    }
    return (int) (index - offset - 1);
  }

  /**
   * Appends {@code e} stored at {@code location}, first dropping every entry >= e.index (raft's
   * truncation of a conflicting suffix).
   *
   * @throws IllegalArgumentException if e.index would leave a gap or lies at or below the offset
   */
  void append(Entry e, long location) {
    long index = e.index();
    if (index <= offset || index > lastIndex() + 1) {
      throw new IllegalArgumentException(
          "entry " + index + " does not follow the log [" + offset + ", " + lastIndex() + "]");
    }
    truncateFrom(index);
    if (size == terms.length) {
      int cap = size * 2;
      terms = Arrays.copyOf(terms, cap);
      locs = Arrays.copyOf(locs, cap);
      cached = Arrays.copyOf(cached, cap);
    }
    terms[size] = e.term();
    locs[size] = location;
    cached[size] = e;
    size++;
    cachedBytes += e.size();
    // Keep at least the last entry cached so the newest term is always cheap.
    while (cachedBytes > cacheLimit && cacheFrom < lastIndex()) {
      int s = slot(cacheFrom);
      cachedBytes -= cached[s].size();
      cached[s] = null;
      cacheFrom++;
    }
  }

  private void truncateFrom(long index) {
    for (long i = lastIndex(); i >= index; i--) {
      int s = slot(i);
      if (cached[s] != null) {
        cachedBytes -= cached[s].size();
        cached[s] = null;
      }
    }
    size = (int) (index - offset - 1);
    if (cacheFrom > lastIndex() + 1) {
      cacheFrom = lastIndex() + 1;
    }
  }

  /** Drops everything: the log becomes empty after the dummy entry {@code (index, term)}. */
  void reset(long index, long term) {
    Arrays.fill(cached, 0, size, null);
    size = 0;
    cachedBytes = 0;
    offset = index;
    offsetTerm = term;
    cacheFrom = index + 1;
  }

  /** Drops entries up to and including {@code index}, which becomes the dummy entry. */
  void compact(long index, long term) {
    if (index <= offset) {
      return;
    }
    if (index >= lastIndex()) {
      reset(index, term);
      return;
    }
    int drop = (int) (index - offset);
    for (int i = 0; i < drop; i++) {
      if (cached[i] != null) {
        cachedBytes -= cached[i].size();
      }
    }
    System.arraycopy(terms, drop, terms, 0, size - drop);
    System.arraycopy(locs, drop, locs, 0, size - drop);
    System.arraycopy(cached, drop, cached, 0, size - drop);
    Arrays.fill(cached, size - drop, size, null);
    size -= drop;
    offset = index;
    offsetTerm = term;
    if (cacheFrom < index + 1) {
      cacheFrom = index + 1;
    }
  }
}
