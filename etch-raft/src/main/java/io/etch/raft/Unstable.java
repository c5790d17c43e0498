package io.etch.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * Entries (and possibly a snapshot) accepted by raft but not yet persisted by the caller. {@code
 * entries.get(i)} has index {@code offset + i}. Confined to the raft loop.
 */
final class Unstable {
  Snapshot snapshot; // null when none
  ArrayList<Entry> entries = new ArrayList<>();
  long offset;

  Unstable(long offset) {
    this.offset = offset;
  }

  /** The first index, if a snapshot is pending; else -1. */
  long maybeFirstIndex() {
    return snapshot != null ? snapshot.index() + 1 : -1;
  }

  /** The last index held here; else -1. */
  long maybeLastIndex() {
    if (!entries.isEmpty()) {
      return offset + entries.size() - 1;
    }
    return snapshot != null ? snapshot.index() : -1;
  }

  /** The term of {@code i} if known here; else -1. */
  long maybeTerm(long i) {
    if (i < offset) {
      if (snapshot != null && snapshot.index() == i) {
        return snapshot.term();
      }
      return -1;
    }
    long last = maybeLastIndex();
    if (last < 0 || i > last) {
      return -1;
    }
    return entries.get((int) (i - offset)).term();
  }

  /** The caller persisted entries up to {@code i} (with term {@code t}). */
  void stableTo(long i, long t) {
    long gt = maybeTerm(i);
    if (gt < 0) {
      return;
    }
    // Only if the entry was not replaced meanwhile by a conflicting append.
    if (gt == t && i >= offset) {
      int n = (int) (i + 1 - offset);
      if (n >= entries.size()) {
        entries = new ArrayList<>();
      } else {
        entries = new ArrayList<>(entries.subList(n, entries.size()));
      }
      offset = i + 1;
    }
  }

  void stableSnapTo(long i) {
    if (snapshot != null && snapshot.index() == i) {
      snapshot = null;
    }
  }

  void restore(Snapshot s) {
    offset = s.index() + 1;
    entries = new ArrayList<>();
    snapshot = s;
  }

  void truncateAndAppend(List<Entry> ents) {
    long after = ents.get(0).index();
    if (after == offset + entries.size()) {
      entries.addAll(ents);
    } else if (after <= offset) {
      // Replaces everything held here.
      offset = after;
      entries = new ArrayList<>(ents);
    } else {
      ArrayList<Entry> kept = new ArrayList<>(entries.subList(0, (int) (after - offset)));
      kept.addAll(ents);
      entries = kept;
    }
  }

  List<Entry> slice(long lo, long hi) {
    if (lo > hi || lo < offset || hi > offset + entries.size()) {
      throw new IllegalStateException(
          "invalid unstable.slice "
              + lo
              + ".."
              + hi
              + " (offset "
              + offset
              + ", len "
              + entries.size()
              + ")");
    }
    return entries.subList((int) (lo - offset), (int) (hi - offset));
  }
}
