package io.etch.server.watch;

import java.util.Arrays;

/**
 * A key (or a prefix of one, without copying) usable in hash and sorted maps: equality and hash by
 * content, order unsigned as etcd orders keys. The array is never mutated.
 */
final class ByteKey implements Comparable<ByteKey> {
  private final byte[] bytes;
  private final int length;
  private final int hash;

  private ByteKey(byte[] bytes, int length) {
    this.bytes = bytes;
    this.length = length;
    int h = 1;
    for (int i = 0; i < length; i++) {
      h = 31 * h + bytes[i];
    }
    this.hash = h;
  }

  static ByteKey of(byte[] key) {
    return new ByteKey(key, key.length);
  }

  /** The first {@code length} bytes of {@code key}, sharing its array (for lookups). */
  static ByteKey prefix(byte[] key, int length) {
    return new ByteKey(key, length);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ByteKey k
        && k.hash == hash
        && Arrays.equals(bytes, 0, length, k.bytes, 0, k.length);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public int compareTo(ByteKey o) {
    return Arrays.compareUnsigned(bytes, 0, length, o.bytes, 0, o.length);
  }
}
