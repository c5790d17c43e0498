package io.etch.storage.mvcc;

import java.util.function.LongBinaryOperator;

/**
 * The revisions of one key, oldest first (etcd's keyIndex, flattened): each entry is a revision
 * (main, sub) and whether it is a tombstone. A tombstone ends a generation; the next put starts a
 * new one. A read at revision R takes the newest entry with main ≤ R: if it is a put, the key
 * exists at R with that revision; if it is a tombstone or there is none, it does not.
 *
 * <p>Concurrency: mutated only by the apply thread; read by any thread. The entries live in an
 * immutable-prefix {@link Entries} published through one volatile field: the writer appends past
 * the published count (invisible to readers) and then publishes a new {@code Entries} with a larger
 * count; compaction publishes a fresh array. A reader reads the field once and sees a consistent
 * list. Readers ignore entries above the revision they read at, so appends of a batch not yet
 * published as the store revision are harmless.
 */
final class KeyIndex extends KeyRef {
  /** Bit set in the sub word of a tombstone entry. */
  static final long TOMBSTONE = 1L << 62;

  /** Returned by {@link #find} when the key has no entry at or below the revision. */
  static final int NONE = -1;

  /** An immutable view: entries [0, n) of {@code a}, two longs each (main, sub|TOMBSTONE). */
  record Entries(long[] a, int n) {
    long main(int i) {
      return a[2 * i];
    }

    long subWord(int i) {
      return a[2 * i + 1];
    }

    boolean tombstone(int i) {
      return (a[2 * i + 1] & TOMBSTONE) != 0;
    }

    long sub(int i) {
      return a[2 * i + 1] & ~TOMBSTONE;
    }

    /** Index of the newest entry with main ≤ rev, or {@link #NONE}. */
    int find(long rev) {
      int lo = 0, hi = n - 1, found = NONE;
      while (lo <= hi) {
        int mid = (lo + hi) >>> 1;
        if (a[2 * mid] <= rev) {
          found = mid;
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
      return found;
    }
  }

  private static final Entries EMPTY = new Entries(new long[0], 0);

  private volatile Entries entries = EMPTY;

  /**
   * Main revision of the newest entry (0 before the first). A reader at revision R that reads R
   * first and this field after sees at least every entry ≤ R (they were appended before R was
   * published), so if this is ≤ R it names the newest entry ≤ R: with {@link #cached} holding that
   * revision, a point read needs neither {@link #entries} nor its array.
   */
  private volatile long newest;

  /**
   * A recently read or written version of this key (normally its newest), or null: reads at the
   * current revision are served from here without RocksDB. Safe to set early or from any thread,
   * because a reader uses it only when its mod_revision is the revision the reader's entry names
   * (one key changes at most once per revision), and the value of a revision never changes. Bounded
   * by {@link MvccStore}'s value cache budget.
   */
  volatile KeyValue cached;

  private static final java.lang.invoke.VarHandle CACHED;

  static {
    try {
      CACHED =
          java.lang.invoke.MethodHandles.lookup()
              .findVarHandle(KeyIndex.class, "cached", KeyValue.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Sets the cached version if none is set; true if this call set it. */
  boolean cacheIfEmpty(KeyValue kv) {
    return CACHED.compareAndSet(this, null, kv);
  }

  /** Replaces the cached version, returning the previous one. */
  KeyValue swapCached(KeyValue kv) {
    return (KeyValue) CACHED.getAndSet(this, kv);
  }

  /**
   * The cached version if it is this key's newest and at or below {@code rev}, else null (then
   * {@link #entries} decides). Never a tombstone: a delete clears the cache, and a key cannot be
   * put and deleted at one revision.
   */
  KeyValue cachedNewestAt(long rev) {
    KeyValue kv = cached;
    if (kv == null) {
      return null;
    }
    long n = newest;
    return n <= rev && kv.modRevision() == n ? kv : null;
  }

  /** The cached version if it is the one at revision {@code main}, else null. */
  KeyValue cachedAt(long main) {
    KeyValue kv = cached;
    return kv != null && kv.modRevision() == main ? kv : null;
  }

  // Writer-only: the live generation's create revision and version (0 when the key is deleted),
  // what a put needs to stamp create_revision and version without reading the previous value.
  long createRevision;
  long version;

  KeyIndex(byte[] key) {
    super(key);
  }

  Entries entries() {
    return entries;
  }

  /** Appends a put at (main, sub); the writer's generation bookkeeping follows. */
  void put(long main, long sub) {
    append(main, sub);
    if (version == 0) {
      createRevision = main;
    }
    version++;
  }

  /** Appends a tombstone at (main, sub), ending the live generation. */
  void tombstone(long main, long sub) {
    append(main, sub | TOMBSTONE);
    createRevision = 0;
    version = 0;
  }

  /** Rebuild-time append of an entry read from disk (in revision order). */
  void restore(long main, long subWord, long createRev, long ver) {
    append(main, subWord);
    createRevision = createRev;
    version = ver;
  }

  private void append(long main, long subWord) {
    Entries e = entries;
    long[] a = e.a;
    int n = e.n;
    if (n > 0 && main < e.main(n - 1)) {
      throw new IllegalStateException("revision " + main + " appended after " + e.main(n - 1));
    }
    if (2 * n + 2 > a.length) {
      long[] grown = new long[Math.max(4, a.length * 2)];
      System.arraycopy(a, 0, grown, 0, 2 * n);
      a = grown;
    }
    a[2 * n] = main;
    a[2 * n + 1] = subWord;
    entries = new Entries(a, n + 1);
    newest = main;
  }

  /**
   * etcd's keyIndex.compact: keeps the newest entry with main ≤ {@code rev} unless it is a
   * tombstone, and every newer entry. Calls {@code dropped} with (main, subWord) for each removed
   * entry. Returns true if nothing is left (the key can leave the index).
   */
  boolean compact(long rev, LongBinaryOperator dropped) {
    Entries e = entries;
    int i = e.find(rev);
    if (i == NONE) {
      return e.n == 0;
    }
    int firstKept = e.tombstone(i) ? i + 1 : i;
    if (firstKept == 0) {
      return false;
    }
    for (int j = 0; j < firstKept; j++) {
      dropped.applyAsLong(e.main(j), e.subWord(j));
    }
    int left = e.n - firstKept;
    long[] a = new long[Math.max(4, 2 * left)];
    System.arraycopy(e.a, 2 * firstKept, a, 0, 2 * left);
    entries = new Entries(a, left);
    return left == 0;
  }
}
