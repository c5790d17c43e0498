package io.etch.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * The log as raft sees it: persisted entries in {@link Storage} followed by {@link Unstable} ones,
 * with the commit and applied indexes. Confined to the raft loop.
 */
final class RaftLog {
  final Storage storage;
  final Unstable unstable;
  long committed;
  long applied;
  private final long maxNextEntsSize;

  RaftLog(Storage storage, long maxNextEntsSize) {
    this.storage = storage;
    this.maxNextEntsSize = maxNextEntsSize;
    long first = storage.firstIndex();
    long last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  long firstIndex() {
    long i = unstable.maybeFirstIndex();
    return i >= 0 ? i : storage.firstIndex();
  }

  long lastIndex() {
    long i = unstable.maybeLastIndex();
    return i >= 0 ? i : storage.lastIndex();
  }

  long lastTerm() {
    return term(lastIndex());
  }

  /**
   * The term of entry {@code i}.
   *
   * @throws RaftException COMPACTED or UNAVAILABLE if {@code i} is outside the log
   */
  long term(long i) {
    long t = unstable.maybeTerm(i);
    if (t >= 0) {
      return t;
    }
    long dummy = firstIndex() - 1;
    if (i < dummy) {
      throw new RaftException(RaftError.COMPACTED);
    }
    if (i > lastIndex()) {
      throw new RaftException(RaftError.UNAVAILABLE);
    }
    return storage.term(i);
  }

  /** The term of {@code i}, or 0 if it is not in the log (compacted or beyond the end). */
  long termOrZero(long i) {
    long t = unstable.maybeTerm(i);
    if (t >= 0) {
      return t;
    }
    if (i < firstIndex() - 1 || i > lastIndex()) {
      return 0;
    }
    try {
      return storage.term(i);
    } catch (RaftException e) {
      return 0;
    }
  }

  boolean matchTerm(long i, long t) {
    long dummy = firstIndex() - 1;
    if (i < dummy || i > lastIndex()) {
      return false;
    }
    long tt = unstable.maybeTerm(i);
    if (tt < 0) {
      try {
        tt = storage.term(i);
      } catch (RaftException e) {
        return false;
      }
    }
    return tt == t;
  }

  /**
   * Appends a leader's entries after ({@code index}, {@code logTerm}) if the log matches there (the
   * consistency check, paper §5.3). Returns the last new index, or -1 on mismatch.
   */
  long maybeAppend(long index, long logTerm, long leaderCommit, List<Entry> ents) {
    if (!matchTerm(index, logTerm)) {
      return -1;
    }
    long lastNew = index + ents.size();
    long ci = findConflict(ents);
    if (ci != 0) {
      if (ci <= committed) {
        throw new IllegalStateException(
            "entry " + ci + " conflicts with committed entry [committed(" + committed + ")]");
      }
      append(ents.subList((int) (ci - (index + 1)), ents.size()));
    }
    commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  long append(List<Entry> ents) {
    if (ents.isEmpty()) {
      return lastIndex();
    }
    long after = ents.get(0).index() - 1;
    if (after < committed) {
      throw new IllegalStateException(
          "after(" + after + ") is out of range [committed(" + committed + ")]");
    }
    unstable.truncateAndAppend(ents);
    return lastIndex();
  }

  /**
   * The index of the first entry that is new or conflicts with the log; 0 if all are already
   * present.
   */
  long findConflict(List<Entry> ents) {
    for (Entry e : ents) {
      if (!matchTerm(e.index(), e.term())) {
        return e.index();
      }
    }
    return 0;
  }

  /**
   * For fast back-off: the largest index ≤ {@code index} whose term is ≤ {@code term}. Every entry
   * after it cannot match a leader whose entry at {@code index} has term {@code term}.
   */
  long findConflictByTerm(long index, long term) {
    long li = lastIndex();
    if (index > li) {
      return index;
    }
    for (; index > 0; index--) {
      long t;
      try {
        t = term(index);
      } catch (RaftException e) {
        return index;
      }
      if (t <= term) {
        return index;
      }
    }
    return 0;
  }

  void commitTo(long toCommit) {
    if (committed < toCommit) {
      if (lastIndex() < toCommit) {
        throw new IllegalStateException(
            "tocommit("
                + toCommit
                + ") is out of range [lastIndex("
                + lastIndex()
                + ")]. Was the raft log corrupted, truncated, or lost?");
      }
      committed = toCommit;
    }
  }

  /** Commits {@code maxIndex} only if its entry is of {@code term} (paper §5.4.2). */
  boolean maybeCommit(long maxIndex, long term) {
    if (maxIndex > committed && termOrZero(maxIndex) == term) {
      commitTo(maxIndex);
      return true;
    }
    return false;
  }

  void appliedTo(long i) {
    if (i == 0) {
      return;
    }
    if (committed < i || i < applied) {
      throw new IllegalStateException(
          "applied("
              + i
              + ") is out of range [prevApplied("
              + applied
              + "), committed("
              + committed
              + ")]");
    }
    applied = i;
  }

  void stableTo(long i, long t) {
    unstable.stableTo(i, t);
  }

  void stableSnapTo(long i) {
    unstable.stableSnapTo(i);
  }

  List<Entry> unstableEntries() {
    return unstable.entries.isEmpty() ? List.of() : List.copyOf(unstable.entries);
  }

  boolean hasNextCommittedEnts() {
    if (unstable.snapshot != null) {
      return false; // a pending snapshot must be applied first
    }
    return committed > Math.max(applied, firstIndex() - 1);
  }

  List<Entry> nextCommittedEnts() {
    if (unstable.snapshot != null) {
      return List.of();
    }
    long lo = Math.max(applied + 1, firstIndex());
    long hi = committed + 1;
    if (hi <= lo) {
      return List.of();
    }
    return slice(lo, hi, maxNextEntsSize);
  }

  Snapshot snapshot() {
    if (unstable.snapshot != null) {
      return unstable.snapshot;
    }
    return storage.snapshot();
  }

  boolean hasPendingSnapshot() {
    return unstable.snapshot != null;
  }

  /** Entries from {@code i} to the end, limited to {@code maxSize} bytes. */
  List<Entry> entries(long i, long maxSize) {
    if (i > lastIndex()) {
      return List.of();
    }
    return slice(i, lastIndex() + 1, maxSize);
  }

  /** Entries in {@code [lo, hi)}, at most {@code maxSize} bytes but at least one. */
  List<Entry> slice(long lo, long hi, long maxSize) {
    long fi = firstIndex();
    if (lo < fi) {
      throw new RaftException(RaftError.COMPACTED);
    }
    long li = lastIndex();
    if (hi > li + 1) {
      throw new IllegalStateException(
          "slice[" + lo + "," + hi + ") out of bound [" + fi + "," + li + "]");
    }
    if (lo == hi) {
      return List.of();
    }
    List<Entry> ents = null;
    long uoff = unstable.offset;
    if (lo < uoff) {
      List<Entry> stored = storage.entries(lo, Math.min(hi, uoff), maxSize);
      if (stored.size() < Math.min(hi, uoff) - lo) {
        return stored; // limited by size
      }
      ents = stored;
    }
    if (hi > uoff) {
      List<Entry> u = unstable.slice(Math.max(lo, uoff), hi);
      if (ents == null) {
        return limitSize(u, maxSize);
      }
      ArrayList<Entry> combined = new ArrayList<>(ents.size() + u.size());
      combined.addAll(ents);
      combined.addAll(u);
      ents = combined;
    }
    return limitSize(ents, maxSize);
  }

  static List<Entry> limitSize(List<Entry> ents, long maxSize) {
    if (ents.isEmpty() || maxSize == Long.MAX_VALUE) {
      return List.copyOf(ents);
    }
    long size = ents.get(0).size();
    int limit = 1;
    for (; limit < ents.size(); limit++) {
      size += ents.get(limit).size();
      if (size > maxSize) {
        break;
      }
    }
    return List.copyOf(ents.subList(0, limit));
  }

  boolean isUpToDate(long lasti, long term) {
    long lt = lastTerm();
    return term > lt || (term == lt && lasti >= lastIndex());
  }

  void restore(Snapshot s) {
    committed = s.index();
    unstable.restore(s);
  }
}
