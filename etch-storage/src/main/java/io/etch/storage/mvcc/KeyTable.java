package io.etch.storage.mvcc;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * The exact-key index: a hash table of {@link KeyIndex} by key, open addressing with linear
 * probing, the entries stored directly in the slot array. A point read is one probe into the array,
 * then the KeyIndex and its key; a {@code ConcurrentHashMap} adds a node object between the two,
 * which measured as one more cache miss per read on a 1M-key index (most of a cached point read's
 * CPU is cache misses).
 *
 * <p>Concurrency: one writer (the apply thread, or the index rebuild before the table is
 * published), any number of lock-free readers.
 *
 * <ul>
 *   <li>The writer fills a slot with a release store; readers load slots with acquire. A KeyIndex
 *       seen in a slot is therefore complete.
 *   <li>A removed key's slot holds {@link #REMOVED}, never null again, so a reader's probe goes
 *       past it to keys inserted after it. Inserts reuse such slots.
 *   <li>Growing (or clearing out removed slots) builds a new array and publishes it through the
 *       volatile {@link #slots}; the old array is never written again. A reader still probing it
 *       sees every key inserted before the switch; keys inserted after it belong to revisions the
 *       reader, which fixed its revision before it read {@link #slots}, does not see anyway.
 * </ul>
 */
final class KeyTable {
  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(KeyIndex[].class);

  /** Marks the slot of a removed key; never equal to a looked-up key (compared by identity). */
  private static final KeyIndex REMOVED = new KeyIndex(new byte[0]);

  private volatile KeyIndex[] slots;

  // Writer only.
  private int size;
  private int removed;

  KeyTable(int expectedKeys) {
    slots = new KeyIndex[capacityFor(expectedKeys)];
  }

  private static int capacityFor(int keys) {
    // At most half full, so probes stay short.
    long want = Math.max(16, (long) keys * 2);
    if (want > 1 << 30) {
      throw new IllegalStateException("key index over 2^29 keys");
    }
    return Integer.highestOneBit((int) want - 1) << 1;
  }

  /**
   * Fibonacci hashing: the top bits of hash × 2^32/φ, which spreads the 31-polynomial hashes of
   * similar keys over the whole table.
   */
  private static int home(int hash, int mask) {
    return (hash * 0x9E3779B9) >>> Integer.numberOfLeadingZeros(mask);
  }

  int size() {
    return size;
  }

  /** The entry of exactly {@code key}, or null. Any thread. */
  KeyIndex get(byte[] key) {
    int hash = Arrays.hashCode(key);
    KeyIndex[] t = slots;
    int mask = t.length - 1;
    for (int i = home(hash, mask); ; i = (i + 1) & mask) {
      KeyIndex k = (KeyIndex) SLOT.getAcquire(t, i);
      if (k == null) {
        return null;
      }
      if (k.hashCode() == hash && k != REMOVED && Arrays.equals(k.key, key)) {
        return k;
      }
    }
  }

  /** Adds a key that is not in the table (writer only). */
  void insert(KeyIndex ki) {
    if ((size + removed + 1) * 2L > slots.length) {
      // Mostly removed keys: clear them out at the same size; else grow.
      rehash(removed * 2 > size ? slots.length : slots.length * 2);
    }
    KeyIndex[] t = slots;
    int mask = t.length - 1;
    for (int i = home(ki.hashCode(), mask); ; i = (i + 1) & mask) {
      KeyIndex k = t[i];
      if (k == null || k == REMOVED) {
        if (k == REMOVED) {
          removed--;
        }
        SLOT.setRelease(t, i, ki);
        size++;
        return;
      }
    }
  }

  /** Removes exactly {@code ki} (writer only); false if it is not in the table. */
  boolean remove(KeyIndex ki) {
    KeyIndex[] t = slots;
    int mask = t.length - 1;
    for (int i = home(ki.hashCode(), mask); ; i = (i + 1) & mask) {
      KeyIndex k = t[i];
      if (k == null) {
        return false;
      }
      if (k == ki) {
        SLOT.setRelease(t, i, REMOVED);
        size--;
        removed++;
        return true;
      }
    }
  }

  /** Builds a new array of {@code length} slots without removed ones, then publishes it. */
  private void rehash(int length) {
    if (length > 1 << 30) {
      throw new IllegalStateException("key index over 2^29 keys");
    }
    KeyIndex[] old = slots;
    KeyIndex[] t = new KeyIndex[length];
    int mask = t.length - 1;
    for (KeyIndex k : old) {
      if (k != null && k != REMOVED) {
        int i = home(k.hashCode(), mask);
        while (t[i] != null) {
          i = (i + 1) & mask;
        }
        t[i] = k;
      }
    }
    removed = 0;
    slots = t; // volatile: the filled array is published whole
  }
}
