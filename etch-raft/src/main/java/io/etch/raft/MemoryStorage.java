package io.etch.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link Storage} held in memory, for tests, simulation and benchmarks. The caller appends what
 * each Ready asks to persist. Thread-safe by a single monitor: the raft loop reads while the caller
 * may write from another thread.
 */
public final class MemoryStorage implements Storage {
  private HardState hardState = HardState.EMPTY;
  private Snapshot snapshot = Snapshot.EMPTY;
  // ents.get(0) is a dummy entry: its index/term are those of the last compacted entry.
  private final ArrayList<Entry> ents = new ArrayList<>();

  public MemoryStorage() {
    ents.add(new Entry(0, 0, EntryType.NORMAL, Entry.EMPTY));
  }

  /**
   * A storage bootstrapped as a founding member of a new cluster with these voters (see {@link
   * Bootstrap}).
   */
  public static MemoryStorage withVoters(long... ids) {
    MemoryStorage s = new MemoryStorage();
    java.util.List<Long> v = new java.util.ArrayList<>();
    for (long id : ids) {
      v.add(id);
    }
    s.snapshot = new Snapshot(new SnapshotMetadata(Bootstrap.confState(v), 0, 0), Entry.EMPTY);
    s.append(Bootstrap.entries(v));
    s.hardState = Bootstrap.hardState(v);
    return s;
  }

  @Override
  public synchronized InitialState initialState() {
    return new InitialState(hardState, snapshot.metadata().confState());
  }

  public synchronized void setHardState(HardState hs) {
    hardState = hs;
  }

  public synchronized HardState hardState() {
    return hardState;
  }

  private long offset() {
    return ents.get(0).index();
  }

  @Override
  public synchronized List<Entry> entries(long lo, long hi, long maxSize) {
    long offset = offset();
    if (lo <= offset) {
      throw new RaftException(RaftError.COMPACTED);
    }
    if (hi > lastIndexLocked() + 1) {
      throw new RaftException(
          RaftError.UNAVAILABLE,
          "entries' hi(" + hi + ") is out of bound lastindex(" + lastIndexLocked() + ")");
    }
    if (ents.size() == 1) {
      throw new RaftException(RaftError.UNAVAILABLE);
    }
    int from = (int) (lo - offset);
    int to = (int) (hi - offset);
    ArrayList<Entry> out = new ArrayList<>(Math.min(to - from, 64));
    long size = 0;
    for (int i = from; i < to; i++) {
      Entry e = ents.get(i);
      size += e.size();
      if (!out.isEmpty() && size > maxSize) {
        break;
      }
      out.add(e);
    }
    return out;
  }

  @Override
  public synchronized long term(long index) {
    long offset = offset();
    if (index < offset) {
      throw new RaftException(RaftError.COMPACTED);
    }
    if (index - offset >= ents.size()) {
      throw new RaftException(RaftError.UNAVAILABLE);
    }
    return ents.get((int) (index - offset)).term();
  }

  @Override
  public synchronized long firstIndex() {
    return offset() + 1;
  }

  @Override
  public synchronized long lastIndex() {
    return lastIndexLocked();
  }

  private long lastIndexLocked() {
    return offset() + ents.size() - 1;
  }

  @Override
  public synchronized Snapshot snapshot() {
    return snapshot;
  }

  /** Replaces the contents with a snapshot (a follower installing one). */
  public synchronized void applySnapshot(Snapshot snap) {
    if (snapshot.index() >= snap.index()) {
      throw new RaftException(RaftError.SNAPSHOT_OUT_OF_DATE);
    }
    snapshot = snap;
    ents.clear();
    ents.add(new Entry(snap.term(), snap.index(), EntryType.NORMAL, Entry.EMPTY));
  }

  /**
   * Makes a snapshot at {@code index} (which must be applied) with the given configuration and
   * data; the caller may then {@link #compact} up to it.
   */
  public synchronized Snapshot createSnapshot(long index, ConfState cs, byte[] data) {
    if (index <= snapshot.index()) {
      throw new RaftException(RaftError.SNAPSHOT_OUT_OF_DATE);
    }
    if (index > lastIndexLocked()) {
      throw new IllegalArgumentException(
          "snapshot " + index + " is out of bound lastindex(" + lastIndexLocked() + ")");
    }
    long term = ents.get((int) (index - offset())).term();
    snapshot = new Snapshot(new SnapshotMetadata(cs, index, term), data);
    return snapshot;
  }

  /** Discards entries before {@code compactIndex}; it becomes the dummy entry. */
  public synchronized void compact(long compactIndex) {
    long offset = offset();
    if (compactIndex <= offset) {
      throw new RaftException(RaftError.COMPACTED);
    }
    if (compactIndex > lastIndexLocked()) {
      throw new IllegalArgumentException(
          "compact " + compactIndex + " is out of bound lastindex(" + lastIndexLocked() + ")");
    }
    int i = (int) (compactIndex - offset);
    Entry dummy = new Entry(ents.get(i).term(), compactIndex, EntryType.NORMAL, Entry.EMPTY);
    ArrayList<Entry> rest = new ArrayList<>(ents.subList(i + 1, ents.size()));
    ents.clear();
    ents.add(dummy);
    ents.addAll(rest);
  }

  /**
   * Appends entries, truncating any existing suffix they conflict with. Entries already compacted
   * are ignored.
   */
  public synchronized void append(List<Entry> entries) {
    if (entries.isEmpty()) {
      return;
    }
    long first = firstIndex();
    long last = entries.get(0).index() + entries.size() - 1;
    if (last < first) {
      return;
    }
    if (first > entries.get(0).index()) {
      entries = entries.subList((int) (first - entries.get(0).index()), entries.size());
    }
    long offset = entries.get(0).index() - offset();
    if (offset > ents.size()) {
      throw new IllegalStateException(
          "missing log entry [last: "
              + lastIndexLocked()
              + ", append at: "
              + entries.get(0).index()
              + "]");
    }
    while (ents.size() > offset) {
      ents.remove(ents.size() - 1);
    }
    ents.addAll(entries);
  }
}
