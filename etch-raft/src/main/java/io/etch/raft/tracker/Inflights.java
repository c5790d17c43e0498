package io.etch.raft.tracker;

/**
 * A bounded window of MsgApps sent to one follower and not yet acknowledged: a ring buffer of the
 * last index (and byte size) of each. Confined to the raft loop.
 */
public final class Inflights {
  private final int capacity;
  private final long maxBytes;
  private final long[] indexes;
  private final long[] sizes;
  private int start;
  private int count;
  private long bytes;

  public Inflights(int capacity, long maxBytes) {
    this.capacity = capacity;
    this.maxBytes = maxBytes <= 0 ? Long.MAX_VALUE : maxBytes;
    this.indexes = new long[capacity];
    this.sizes = new long[capacity];
  }

  public Inflights copy() {
    Inflights c = new Inflights(capacity, maxBytes);
    System.arraycopy(indexes, 0, c.indexes, 0, capacity);
    System.arraycopy(sizes, 0, c.sizes, 0, capacity);
    c.start = start;
    c.count = count;
    c.bytes = bytes;
    return c;
  }

  /** Records a MsgApp whose last entry is {@code index}; indexes must be added in order. */
  public void add(long index, long size) {
    if (full()) {
      throw new IllegalStateException("cannot add into a full inflights");
    }
    int next = (start + count) % capacity;
    indexes[next] = index;
    sizes[next] = size;
    count++;
    bytes += size;
  }

  /** Frees every in-flight message whose last index is at most {@code to}. */
  public void freeLE(long to) {
    if (count == 0 || to < indexes[start]) {
      return;
    }
    int i = 0;
    int idx = start;
    long freedBytes = 0;
    while (i < count) {
      if (to < indexes[idx]) {
        break;
      }
      freedBytes += sizes[idx];
      idx = (idx + 1) % capacity;
      i++;
    }
    count -= i;
    bytes -= freedBytes;
    start = idx;
    if (count == 0) {
      start = 0;
    }
  }

  /** Frees the oldest in-flight message (a lost MsgApp must not clog the window forever). */
  public void freeFirstOne() {
    if (count > 0) {
      freeLE(indexes[start]);
    }
  }

  public boolean full() {
    return count == capacity || bytes >= maxBytes;
  }

  public int count() {
    return count;
  }

  public void reset() {
    start = 0;
    count = 0;
    bytes = 0;
  }
}
