package io.etch.storage.mvcc;

/**
 * A revision: {@code main} is the store revision of a write transaction, {@code sub} the position
 * of a change inside it. Ordered by (main, sub).
 *
 * <p>On disk (CF {@code kv}) a revision is etcd's 17-byte key: 8-byte big-endian main, {@code '_'},
 * 8-byte big-endian sub; a tombstone appends {@code 't'}. Big-endian keeps RocksDB's byte order
 * equal to revision order, so history is one sequential scan.
 */
public record Revision(long main, long sub) implements Comparable<Revision> {
  static final int BYTES = 17;
  static final byte TOMBSTONE_MARK = 't';

  @Override
  public int compareTo(Revision o) {
    int c = Long.compare(main, o.main);
    return c != 0 ? c : Long.compare(sub, o.sub);
  }

  /** The on-disk key of this revision, with the tombstone mark if {@code tombstone}. */
  public byte[] toBytes(boolean tombstone) {
    return toBytes(main, sub, tombstone);
  }

  static byte[] toBytes(long main, long sub, boolean tombstone) {
    byte[] b = new byte[tombstone ? BYTES + 1 : BYTES];
    putLong(b, 0, main);
    b[8] = '_';
    putLong(b, 9, sub);
    if (tombstone) {
      b[BYTES] = TOMBSTONE_MARK;
    }
    return b;
  }

  static Revision fromBytes(byte[] b) {
    if (b.length < BYTES || b[8] != '_') {
      throw new StorageException("malformed revision key of " + b.length + " bytes");
    }
    return new Revision(getLong(b, 0), getLong(b, 9));
  }

  static boolean isTombstone(byte[] b) {
    return b.length == BYTES + 1 && b[BYTES] == TOMBSTONE_MARK;
  }

  static void putLong(byte[] b, int off, long v) {
    for (int i = 7; i >= 0; i--) {
      b[off + i] = (byte) v;
      v >>>= 8;
    }
  }

  static long getLong(byte[] b, int off) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (b[off + i] & 0xff);
    }
    return v;
  }

  @Override
  public String toString() {
    return main + "_" + sub;
  }
}
