package io.etch.raft;

import java.util.Arrays;

/**
 * One raft log entry. Immutable by convention: {@code data} is never modified after construction
 * (the array is shared, not copied, to keep the hot path allocation-free).
 */
public record Entry(long term, long index, EntryType type, byte[] data) {
  public static final byte[] EMPTY = new byte[0];

  public Entry {
    if (data == null) {
      data = EMPTY;
    }
  }

  public static Entry normal(long term, long index, byte[] data) {
    return new Entry(term, index, EntryType.NORMAL, data);
  }

  /** Bytes this entry counts for size limits: its payload plus a small fixed header. */
  public long size() {
    return data.length + 24L;
  }

  /** Bytes counted against the uncommitted-size limit: the payload only (etcd's rule). */
  public long payloadSize() {
    return data.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Entry e
        && e.term == term
        && e.index == index
        && e.type == type
        && Arrays.equals(e.data, data);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(index) * 31 + Long.hashCode(term) * 17 + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return term
        + "/"
        + index
        + (type == EntryType.CONF_CHANGE ? " CC" : "")
        + " "
        + data.length
        + "B";
  }
}
