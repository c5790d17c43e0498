package io.etch.storage.mvcc;

import java.util.Arrays;

/**
 * A key compared by content, with its hash computed once: the hash-map key of the exact-key index.
 * {@link KeyIndex} is one, so the map needs no wrapper object per key; a lookup probes with a plain
 * KeyRef. Immutable.
 */
class KeyRef {
  final byte[] key;
  private final int hash;

  KeyRef(byte[] key) {
    this.key = key;
    this.hash = Arrays.hashCode(key);
  }

  @Override
  public final boolean equals(Object o) {
    return o instanceof KeyRef k && hash == k.hash && Arrays.equals(key, k.key);
  }

  @Override
  public final int hashCode() {
    return hash;
  }
}
