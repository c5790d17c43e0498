package io.etch.storage.wal;

import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.HardState;
import io.etch.raft.RaftError;
import io.etch.raft.RaftException;
import io.etch.raft.Snapshot;
import io.etch.raft.SnapshotMetadata;
import io.etch.raft.Storage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The raft log of a running node, backed by the {@link Wal}: every entry's term and location are
 * indexed in memory, the most recent entries (up to {@link Options#cacheBytes}) are held in memory,
 * older ones are read back from their segment.
 *
 * <p>Concurrency. The writing methods ({@link #save}, {@link #applySnapshot}, {@link
 * #createSnapshot}, {@link #compact}) are confined to the raft loop: they write to the WAL without
 * holding the monitor, then update memory under it. The {@link Storage} reads take the monitor and
 * may come from any thread; they see an entry only once the WAL write covering it returned.
 *
 * <p>Durability follows the order etcd's raft loop needs: {@link #save} returns only after the
 * entries and hard state are written and, when {@code sync}, fsynced; a snapshot marker is always
 * fsynced before segments it makes obsolete are deleted.
 */
public final class WalStorage implements Storage, AutoCloseable {

  /**
   * Tunables. {@code cacheBytes}: the most recent entries kept in memory; older ones are read back
   * from the segments (one positional read each). 2 MiB is about a second of entries at a cluster's
   * put rate, which covers followers that keep up and the applier. It was 64 MiB: every entry then
   * outlived a young collection and was promoted, ~10-15 MB a collection under a put load, which
   * made the young pauses long and the old generation grow; 3 members at 2 MiB: warm put rate
   * 4,000-4,300 -> 5,900-7,100/s and p99 1.5-2.5 s -> 0.68-0.77 s (2026-12-03, quiet machine).
   */
  public record Options(Wal.Options wal, long cacheBytes) {
    public static final Options DEFAULT = new Options(Wal.Options.DEFAULT, 2L << 20);
  }

  private final Wal wal;
  private final byte[] metadata;
  private final EntryLog log; // guarded by this
  private HardState hardState; // guarded by this
  private Snapshot snapshot; // guarded by this

  private WalStorage(
      Wal wal, byte[] metadata, EntryLog log, HardState hardState, Snapshot snapshot) {
    this.wal = wal;
    this.metadata = metadata;
    this.log = log;
    this.hardState = hardState;
    this.snapshot = snapshot;
  }

  /**
   * Creates the WAL of a new member in {@code dir}: {@code metadata} (cluster and member id) and
   * the bootstrap configuration {@code conf} as a snapshot marker at index 0.
   */
  public static WalStorage create(Path dir, byte[] metadata, ConfState conf, Options options)
      throws IOException {
    SnapshotMetadata meta = new SnapshotMetadata(conf, 0, 0);
    Wal wal = Wal.create(dir, metadata, meta, options.wal());
    return new WalStorage(
        wal,
        metadata.clone(),
        new EntryLog(0, 0, options.cacheBytes()),
        HardState.EMPTY,
        new Snapshot(meta, Entry.EMPTY));
  }

  /**
   * Opens and recovers the WAL in {@code dir}.
   *
   * @throws WalCorruptionException if damage sits before the tail of the log
   */
  public static WalStorage open(Path dir, Options options) throws IOException {
    Wal.Recovered r = Wal.open(dir, options.wal(), options.cacheBytes());
    return new WalStorage(
        r.wal(),
        r.replay().metadata(),
        r.replay().log(),
        r.hardState(),
        new Snapshot(r.snapshot(), Entry.EMPTY));
  }

  public static boolean exists(Path dir) throws IOException {
    return Wal.exists(dir);
  }

  /** The metadata given at creation. */
  public byte[] metadata() {
    return metadata.clone();
  }

  public Wal wal() {
    return wal;
  }

  public synchronized HardState hardState() {
    return hardState;
  }

  // ---- writing side: raft loop only ----

  /**
   * Persists a Ready's entries and hard state (empty: unchanged), then makes the entries readable.
   * Entries conflicting with the log replace its suffix from their first index; entries at or below
   * the first index are ignored (already compacted). Returns after the write and, if {@code sync},
   * the fsync.
   *
   * @throws IllegalStateException if the entries would leave a gap after the last index
   */
  public void save(HardState hs, List<Entry> entries, boolean sync) throws IOException {
    List<Entry> toWrite = entries;
    synchronized (this) {
      if (!entries.isEmpty()) {
        long first = log.firstIndex();
        long start = entries.get(0).index();
        if (start > log.lastIndex() + 1) {
          throw new IllegalStateException(
              "missing log entry [last: " + log.lastIndex() + ", append at: " + start + "]");
        }
        if (start < first) {
          int skip = (int) Math.min(entries.size(), first - start);
          toWrite = entries.subList(skip, entries.size());
        }
      }
    }
    boolean hasHardState = hs != null && !hs.isEmpty();
    if (toWrite.isEmpty() && !hasHardState) {
      return;
    }
    Wal.Appended a = wal.save(hs, toWrite, sync);
    synchronized (this) {
      for (int i = 0; i < toWrite.size(); i++) {
        log.append(toWrite.get(i), EntryLog.location(a.segmentSeq(), a.entryOffsets()[i]));
      }
      if (hasHardState) {
        hardState = hs;
      }
    }
  }

  /**
   * Installs a snapshot received from the leader: records an "installed" marker durably, drops the
   * whole log (it restarts after the snapshot) and releases the segments the snapshot covers. The
   * caller must have made the snapshot's data durable first (see the snapshot package).
   */
  public void applySnapshot(Snapshot snap) throws IOException {
    synchronized (this) {
      if (snapshot.index() >= snap.index()) {
        throw new RaftException(RaftError.SNAPSHOT_OUT_OF_DATE);
      }
    }
    wal.saveSnapshot(snap.metadata(), true);
    synchronized (this) {
      snapshot = snap;
      log.reset(snap.index(), snap.term());
    }
    wal.releaseTo(snap.index());
  }

  /**
   * Records a snapshot of the applied state at {@code index} (whose data the caller has saved
   * durably); entries stay readable until {@link #compact}.
   */
  public Snapshot createSnapshot(long index, ConfState cs, byte[] data) throws IOException {
    SnapshotMetadata meta;
    synchronized (this) {
      if (index <= snapshot.index()) {
        throw new RaftException(RaftError.SNAPSHOT_OUT_OF_DATE);
      }
      if (index > log.lastIndex()) {
        throw new IllegalArgumentException(
            "snapshot " + index + " is out of bound lastindex(" + log.lastIndex() + ")");
      }
      meta = new SnapshotMetadata(cs, index, log.term(index));
    }
    wal.saveSnapshot(meta, false);
    Snapshot snap = new Snapshot(meta, data);
    synchronized (this) {
      snapshot = snap;
    }
    return snap;
  }

  /**
   * Discards entries up to {@code compactIndex} (it becomes the dummy entry), then deletes the
   * segments holding only entries at or below both it and the snapshot.
   */
  public void compact(long compactIndex) throws IOException {
    long release;
    synchronized (this) {
      if (compactIndex <= log.offset()) {
        throw new RaftException(RaftError.COMPACTED);
      }
      if (compactIndex > log.lastIndex()) {
        throw new IllegalArgumentException(
            "compact " + compactIndex + " is out of bound lastindex(" + log.lastIndex() + ")");
      }
      log.compact(compactIndex, log.term(compactIndex));
      release = Math.min(compactIndex, snapshot.index());
    }
    wal.releaseTo(release);
  }

  // ---- Storage: any thread ----

  @Override
  public synchronized InitialState initialState() {
    return new InitialState(hardState, snapshot.metadata().confState());
  }

  @Override
  public synchronized List<Entry> entries(long lo, long hi, long maxSize) {
    if (lo <= log.offset()) {
      throw new RaftException(RaftError.COMPACTED);
    }
    if (hi > log.lastIndex() + 1) {
      throw new RaftException(
          RaftError.UNAVAILABLE,
          "entries' hi(" + hi + ") is out of bound lastindex(" + log.lastIndex() + ")");
    }
    List<Entry> out = new ArrayList<>((int) Math.min(hi - lo, 64));
    long size = 0;
    for (long i = lo; i < hi; i++) {
      Entry e = entry(i);
      size += e.size();
      if (!out.isEmpty() && size > maxSize) {
        break;
      }
      out.add(e);
    }
    return out;
  }

  private Entry entry(long index) {
    Entry e = log.cached(index);
    if (e != null) {
      return e;
    }
    try {
      e = wal.readEntry(log.location(index));
    } catch (IOException ex) {
      throw new UncheckedIOException("cannot read raft entry " + index + " from the WAL", ex);
    }
    if (e.index() != index || e.term() != log.term(index)) {
      throw new IllegalStateException(
          "WAL record for entry " + index + " holds " + e.term() + "/" + e.index());
    }
    return e;
  }

  @Override
  public synchronized long term(long index) {
    if (index < log.offset()) {
      throw new RaftException(RaftError.COMPACTED);
    }
    if (index > log.lastIndex()) {
      throw new RaftException(RaftError.UNAVAILABLE);
    }
    return log.term(index);
  }

  @Override
  public synchronized long firstIndex() {
    return log.firstIndex();
  }

  @Override
  public synchronized long lastIndex() {
    return log.lastIndex();
  }

  @Override
  public synchronized Snapshot snapshot() {
    return snapshot;
  }

  /** Bytes of entries held in memory. */
  public synchronized long cachedBytes() {
    return log.cachedBytes();
  }

  @Override
  public void close() throws IOException {
    wal.close();
  }
}
