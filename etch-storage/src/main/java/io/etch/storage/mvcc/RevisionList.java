package io.etch.storage.mvcc;

/**
 * A growable list of (main, subWord) pairs in one long[]: the revisions a compaction drops, which
 * can be millions, kept without an object per revision.
 */
final class RevisionList {
  private long[] a = new long[64];
  private int n;

  long add(long main, long subWord) {
    if (2 * n + 2 > a.length) {
      a = java.util.Arrays.copyOf(a, a.length * 2);
    }
    a[2 * n] = main;
    a[2 * n + 1] = subWord;
    n++;
    return n;
  }

  int size() {
    return n;
  }

  long main(int i) {
    return a[2 * i];
  }

  long subWord(int i) {
    return a[2 * i + 1];
  }
}
