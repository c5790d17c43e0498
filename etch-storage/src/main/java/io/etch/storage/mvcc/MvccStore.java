package io.etch.storage.mvcc;

import io.etch.storage.lease.LeaseRecord;
import io.etch.storage.membership.MemberRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's MVCC key-value store on RocksDB.
 *
 * <h2>Layout</h2>
 *
 * <ul>
 *   <li>CF {@code kv}: revision (etcd's 17-byte key, 't' appended for a tombstone) → protobuf
 *       mvccpb.KeyValue, exactly etcd's key bucket. History is append-only by revision.
 *   <li>CF {@code default} (meta): {@code consistent_index}, {@code term}, {@code
 *       scheduledCompactRev}, {@code finishedCompactRev}, 8-byte big-endian.
 *   <li>CF {@code lease}: lease id → {@link LeaseRecord}; CF {@code members}: member id → {@link
 *       MemberRecord}.
 *   <li>CF {@code auth}: the auth store (etcd's auth, authUsers and authRoles buckets), keys and
 *       values as the server encodes them; opaque here.
 * </ul>
 *
 * The key index (key → its revisions, {@link KeyIndex}) lives in memory and is rebuilt from CF
 * {@code kv} at open, as etcd's treeIndex: an ordered map for ranges and a hash map for exact keys,
 * sharing the same KeyIndex objects, each of which may cache its key's latest version (within
 * {@link MvccOptions#valueCacheBytes()}). MVCC-NOTES.md has the measurements behind these choices.
 *
 * <h2>Durability</h2>
 *
 * Writes go through RocksDB's own WAL without fsync. The raft WAL is the durability source: the
 * consistent index is written in the same RocksDB batch as the changes of the entries it covers, so
 * after a crash the server re-applies exactly the entries past {@link #consistentIndex()}. Keeping
 * RocksDB's WAL (unsynced) means a process crash loses nothing and an OS crash loses only a short
 * tail, instead of whole memtables; {@link #sync()} makes everything applied so far durable, which
 * the server must call before it releases raft log entries the store covers.
 *
 * <h2>Concurrency</h2>
 *
 * One apply thread writes, through one {@link ApplyBatch} at a time; any number of threads read.
 * Invariants:
 *
 * <ol>
 *   <li>{@link #currentRevision} is published (volatile write) only after the batch holding its
 *       revisions is in RocksDB and the index holds its entries. A reader fixes its revision R once
 *       and ignores index entries above R, so it sees every change ≤ R and none after.
 *   <li>Stored revisions are immutable; only compaction removes them, and only after {@link
 *       #compactRevision} has been raised. A reader checks R against the compact revision before
 *       and after it reads: if compaction overtook it, it fails with {@link EtcdError#COMPACTED}
 *       rather than returning a result with holes.
 *   <li>The index map and each {@link KeyIndex} are mutated by the apply thread only (compaction of
 *       the index included); physical deletion of compacted revisions runs on the compactor thread
 *       and touches only RocksDB.
 * </ol>
 *
 * Close the store only after readers and the apply thread have stopped.
 */
public final class MvccStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MvccStore.class);

  static final byte[] CF_KV = "kv".getBytes(StandardCharsets.UTF_8);
  static final byte[] CF_LEASE = "lease".getBytes(StandardCharsets.UTF_8);
  static final byte[] CF_MEMBERS = "members".getBytes(StandardCharsets.UTF_8);
  static final byte[] CF_AUTH = "auth".getBytes(StandardCharsets.UTF_8);
  static final byte[] META_CONSISTENT_INDEX = "consistent_index".getBytes(StandardCharsets.UTF_8);
  static final byte[] META_TERM = "term".getBytes(StandardCharsets.UTF_8);
  static final byte[] META_SCHEDULED_COMPACT =
      "scheduledCompactRev".getBytes(StandardCharsets.UTF_8);
  static final byte[] META_FINISHED_COMPACT = "finishedCompactRev".getBytes(StandardCharsets.UTF_8);

  /** etcd's key bucket name, the first bytes its HashByRev hashes. */
  private static final byte[] KEY_BUCKET_NAME = "key".getBytes(StandardCharsets.US_ASCII);

  static final Comparator<byte[]> KEY_ORDER = Arrays::compareUnsigned;

  static {
    RocksDB.loadLibrary();
  }

  private final Path dir;
  final MvccOptions options;
  private final RocksDB db;
  private final DBOptions dbOptions;
  private final List<ColumnFamilyOptions> cfOptions;
  private final LRUCache blockCache;
  final ColumnFamilyHandle metaCf;
  final ColumnFamilyHandle kvCf;
  final ColumnFamilyHandle leaseCf;
  final ColumnFamilyHandle membersCf;
  final ColumnFamilyHandle authCf;
  private final List<ColumnFamilyHandle> handles;
  final WriteOptions writeOptions;
  private final ReadOptions readOptions;
  private final ExecutorService compactor;

  /** key → its revisions, in key order for ranges; see the class comment for who mutates it. */
  final ConcurrentSkipListMap<byte[], KeyIndex> index = new ConcurrentSkipListMap<>(KEY_ORDER);

  /**
   * The same KeyIndex objects by exact key, for single-key reads and the writer's lookups: a hash
   * probe instead of a ~20-level skiplist walk (measured: most of a cached point read's CPU).
   * Mutated with {@link #index}, by the apply thread only; a key may be briefly in one map and not
   * the other, which readers cannot tell apart from a key created after their revision.
   */
  private final java.util.concurrent.ConcurrentHashMap<ExactKey, KeyIndex> exact =
      new java.util.concurrent.ConcurrentHashMap<>(1 << 16);

  /** A key compared by content, for {@link #exact}. */
  private static final class ExactKey {
    final byte[] key;
    final int hash;

    ExactKey(byte[] key) {
      this.key = key;
      this.hash = Arrays.hashCode(key);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ExactKey k && hash == k.hash && Arrays.equals(key, k.key);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /** The index entry of exactly {@code key}, or null. Any thread. */
  KeyIndex lookup(byte[] key) {
    return exact.get(new ExactKey(key));
  }

  /** Adds a new key to both maps (apply thread, or open). */
  void insert(KeyIndex ki) {
    index.put(ki.key, ki);
    exact.put(new ExactKey(ki.key), ki);
  }

  volatile long currentRevision;
  volatile long compactRevision;
  volatile long consistentIndex;
  volatile long term;

  /** Set when a write failed half-way: the in-memory index may be ahead of disk; reopen. */
  volatile boolean failed;

  /** Apply-thread only: true while an ApplyBatch is open. */
  boolean batchOpen;

  private MvccStore(Path dir, MvccOptions options) {
    this.dir = dir;
    this.options = options;
    this.blockCache = new LRUCache(options.blockCacheBytes());
    this.dbOptions =
        new DBOptions()
            .setCreateIfMissing(true)
            .setCreateMissingColumnFamilies(true)
            .setMaxBackgroundJobs(2)
            .setBytesPerSync(1 << 20);
    this.cfOptions = new ArrayList<>();
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    for (byte[] name :
        List.of(RocksDB.DEFAULT_COLUMN_FAMILY, CF_KV, CF_LEASE, CF_MEMBERS, CF_AUTH)) {
      // Bloom filters: a point read of a revision skips every level that does not hold it,
      // instead of searching each level's index and reading a data block.
      ColumnFamilyOptions cfo =
          new ColumnFamilyOptions()
              .setCompressionType(CompressionType.LZ4_COMPRESSION)
              .setTableFormatConfig(
                  new BlockBasedTableConfig()
                      .setBlockCache(blockCache)
                      .setBlockSize(4 << 10)
                      .setFilterPolicy(new BloomFilter(10, false)));
      if (Arrays.equals(name, CF_KV)) {
        // Revisions are written in increasing order: flushes and compactions mostly move files.
        cfo.setWriteBufferSize(64L << 20).setLevelCompactionDynamicLevelBytes(true);
      }
      cfOptions.add(cfo);
      descriptors.add(new ColumnFamilyDescriptor(name, cfo));
    }
    this.handles = new ArrayList<>();
    RocksDB opened;
    try {
      Files.createDirectories(dir);
      opened = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
    } catch (RocksDBException | java.io.IOException | RuntimeException e) {
      closeOptions();
      throw new StorageException("cannot open MVCC store at " + dir + ": " + e.getMessage(), e);
    }
    this.db = opened;
    this.metaCf = handles.get(0);
    this.kvCf = handles.get(1);
    this.leaseCf = handles.get(2);
    this.membersCf = handles.get(3);
    this.authCf = handles.get(4);
    this.writeOptions = new WriteOptions().setSync(false);
    this.readOptions = new ReadOptions();
    this.compactor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "mvcc-compactor-" + dir.getFileName());
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Opens (or creates) the store in {@code dir}, a data directory or a checkpoint made by {@link
   * #checkpoint}: reads the consistent index and compact revision, rebuilds the key index from
   * history and resumes a compaction that a crash interrupted.
   *
   * @throws StorageException if the directory cannot be opened (locked by another process, not a
   *     directory, corrupt); nothing on disk is changed in that case
   */
  public static MvccStore open(Path dir, MvccOptions options) {
    MvccStore s = new MvccStore(dir, options);
    try {
      s.restore();
    } catch (RuntimeException e) {
      s.close();
      throw e instanceof StorageException ? e : new StorageException("cannot restore " + dir, e);
    }
    return s;
  }

  public static MvccStore open(Path dir) {
    return open(dir, MvccOptions.defaults());
  }

  private void restore() {
    long start = System.nanoTime();
    consistentIndex = metaLong(META_CONSISTENT_INDEX);
    term = metaLong(META_TERM);
    long scheduled = metaLong(META_SCHEDULED_COMPACT);
    long finished = metaLong(META_FINISHED_COMPACT);
    long lastRev = 0;
    int revisions = 0;
    try (ReadOptions ro = new ReadOptions().setFillCache(false).setReadaheadSize(4 << 20);
        RocksIterator it = db.newIterator(kvCf, ro)) {
      KeyIndex last = null;
      // Direct buffers: no Java array per key and value crosses JNI while 1M+ revisions stream by.
      ByteBuffer kbuf = ByteBuffer.allocateDirect(Revision.BYTES + 1);
      ByteBuffer vbuf = ByteBuffer.allocateDirect(64 << 10);
      byte[] revKey = new byte[Revision.BYTES + 1];
      for (it.seekToFirst(); it.isValid(); it.next()) {
        kbuf.clear();
        int klen = it.key(kbuf);
        if (klen != Revision.BYTES && klen != Revision.BYTES + 1) {
          throw new StorageException("malformed revision key of " + klen + " bytes in " + dir);
        }
        kbuf.get(revKey, 0, klen);
        long main = Revision.getLong(revKey, 0);
        long subOnly = Revision.getLong(revKey, 9);
        boolean tombstone = klen == Revision.BYTES + 1 && revKey[Revision.BYTES] == 't';
        vbuf.clear();
        int vlen = it.value(vbuf);
        if (vlen > vbuf.capacity()) {
          vbuf = ByteBuffer.allocateDirect(Integer.highestOneBit(vlen) << 1);
          it.value(vbuf);
        }
        KeyValueCodec.Header h = KeyValueCodec.decodeHeader(vbuf);
        Revision rev = new Revision(main, subOnly);
        // Consecutive revisions often touch the same key (a txn, a hot key): skip the lookup.
        KeyIndex ki = last != null && Arrays.equals(last.key, h.key()) ? last : lookup(h.key());
        if (ki == null) {
          ki = new KeyIndex(h.key());
          insert(ki);
        }
        long sub = tombstone ? rev.sub() | KeyIndex.TOMBSTONE : rev.sub();
        ki.restore(
            rev.main(), sub, tombstone ? 0 : h.createRevision(), tombstone ? 0 : h.version());
        last = ki;
        lastRev = rev.main();
        revisions++;
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("cannot read history in " + dir + ": " + e.getMessage(), e);
    }
    // A compaction may have removed the newest revision (a tombstone): the revision never goes
    // back below the compact revision (etcd's restore does the same). An empty store is at
    // revision 1, as etcd's: its first write gets revision 2.
    currentRevision = Math.max(1, Math.max(lastRev, scheduled));
    compactRevision = scheduled;
    if (scheduled > 0) {
      RevisionList dropped = compactIndex(scheduled);
      if (dropped.size() > 0 || scheduled != finished) {
        log.info(
            "resuming compaction at revision {}: {} revisions to delete",
            scheduled,
            dropped.size());
        deleteCompacted(scheduled, dropped).join();
      }
    }
    log.info(
        "opened MVCC store {}: revision {}, compact revision {}, consistent index {}, {} keys,"
            + " {} revisions, in {} ms",
        dir,
        currentRevision,
        compactRevision,
        consistentIndex,
        index.size(),
        revisions,
        (System.nanoTime() - start) / 1_000_000);
  }

  private long metaLong(byte[] key) {
    try {
      byte[] v = db.get(metaCf, key);
      return v == null ? 0 : Revision.getLong(v, 0);
    } catch (RocksDBException e) {
      throw new StorageException(
          "cannot read " + new String(key, StandardCharsets.UTF_8) + " in " + dir + ": " + e, e);
    }
  }

  static byte[] longBytes(long v) {
    byte[] b = new byte[8];
    Revision.putLong(b, 0, v);
    return b;
  }

  // ---------------------------------------------------------------- state

  /** The revision of the last committed write transaction (reads with revision 0 see it). */
  public long currentRevision() {
    return currentRevision;
  }

  /** The revision of the last compaction (0 if none): reads below it fail as compacted. */
  public long compactRevision() {
    return compactRevision;
  }

  /** Index of the last raft entry whose changes are in the store; the server replays past it. */
  public long consistentIndex() {
    return consistentIndex;
  }

  /** Term of the raft entry at {@link #consistentIndex()}. */
  public long term() {
    return term;
  }

  public Path directory() {
    return dir;
  }

  // ---------------------------------------------------------------- reads (any thread)

  /** etcd's Range at {@code r.revision()} (0: current); serializable, served from local state. */
  public RangeResponse range(RangeRequest r) {
    checkUsable();
    RangeResponse resp = Ranges.execute(this, r, new ReaderView(currentRevision, compactRevision));
    if (r.revision() > 0 && r.revision() < compactRevision) {
      throw new EtcdException(EtcdError.COMPACTED);
    }
    return resp;
  }

  /** Starts the apply thread's next write batch; at most one is open at a time. */
  public ApplyBatch newBatch() {
    checkUsable();
    if (batchOpen) {
      throw new IllegalStateException("an ApplyBatch is already open: one apply thread writes");
    }
    batchOpen = true;
    return new ApplyBatch(this);
  }

  /**
   * The events of revisions [{@code fromRevision}, {@code toRevision}] (toRevision clamped to the
   * current revision), in revision order, at most about {@code maxEvents}: the page ends at a
   * revision boundary once it holds {@code maxEvents} events, so one revision is never split. Each
   * event carries its previous version when that is still in history.
   *
   * @throws EtcdException COMPACTED if {@code fromRevision} is below the compact revision (etcd's
   *     rule for watch start revisions)
   */
  public EventPage events(long fromRevision, long toRevision, int maxEvents) {
    checkUsable();
    long compact = compactRevision;
    long cur = currentRevision;
    if (fromRevision < compact) {
      throw new EtcdException(EtcdError.COMPACTED);
    }
    long to = Math.min(toRevision, cur);
    List<Event> events = new ArrayList<>();
    long next = fromRevision;
    if (fromRevision <= to) {
      try (Slice upper = new Slice(Revision.toBytes(to + 1, 0, false));
          ReadOptions ro = new ReadOptions().setIterateUpperBound(upper);
          RocksIterator it = db.newIterator(kvCf, ro)) {
        next = to + 1;
        for (it.seek(Revision.toBytes(fromRevision, 0, false)); it.isValid(); it.next()) {
          byte[] revKey = it.key();
          Revision rev = Revision.fromBytes(revKey);
          if (events.size() >= maxEvents
              && rev.main() != events.get(events.size() - 1).revision()) {
            next = rev.main();
            break;
          }
          KeyValue kv = KeyValueCodec.decode(it.value());
          KeyValue prev = rev.main() - 1 >= compact ? latestAt(kv.key(), rev.main() - 1) : null;
          if (Revision.isTombstone(revKey)) {
            events.add(
                new Event(
                    Event.EventType.DELETE,
                    new KeyValue(kv.key(), 0, rev.main(), 0, null, 0),
                    prev));
          } else {
            events.add(new Event(Event.EventType.PUT, kv, prev));
          }
        }
        it.status();
      } catch (RocksDBException e) {
        throw new StorageException("cannot read history: " + e.getMessage(), e);
      }
    }
    if (fromRevision < compactRevision) {
      throw new EtcdException(EtcdError.COMPACTED);
    }
    return new EventPage(List.copyOf(events), next);
  }

  /** The live version of {@code key} at revision {@code rev} (reader view), or null. */
  private KeyValue latestAt(byte[] key, long rev) {
    KeyIndex ki = lookup(key);
    if (ki == null) {
      return null;
    }
    KeyIndex.Entries e = ki.entries();
    int i = e.find(rev);
    if (i == KeyIndex.NONE || e.tombstone(i)) {
      return null;
    }
    return readStored(e.main(i), e.sub(i));
  }

  /**
   * etcd's HashKV: CRC32-Castagnoli over etcd's key bucket name, then the (revision key, stored
   * KeyValue) pairs of every revision ≤ {@code revision}, in revision order, leaving out revisions
   * at or below the compact revision that compaction removes (whether or not their physical
   * deletion has happened yet), so members with the same history agree whatever their compaction
   * progress.
   */
  public HashKVResponse hashKV(long revision) {
    checkUsable();
    while (true) {
      long compact = compactRevision;
      long cur = currentRevision;
      long rev = revision == 0 ? cur : revision;
      if (rev > cur) {
        throw new EtcdException(EtcdError.FUTURE_REV);
      }
      if (rev < compact) {
        throw new EtcdException(EtcdError.COMPACTED);
      }
      CRC32C crc = new CRC32C();
      crc.update(KEY_BUCKET_NAME);
      try (Slice upper = new Slice(Revision.toBytes(rev + 1, 0, false));
          ReadOptions ro = new ReadOptions().setIterateUpperBound(upper).setFillCache(false);
          RocksIterator it = db.newIterator(kvCf, ro)) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          byte[] k = it.key();
          byte[] v = it.value();
          Revision r = Revision.fromBytes(k);
          if (r.main() <= compact && !keptByCompaction(k, r, v, compact)) {
            continue;
          }
          crc.update(k);
          crc.update(v);
        }
        it.status();
      } catch (RocksDBException e) {
        throw new StorageException("cannot read history: " + e.getMessage(), e);
      }
      if (compactRevision == compact) {
        return new HashKVResponse(new ResponseHeader(cur), (int) crc.getValue(), compact);
      }
      // A compaction ran meanwhile: hash again against the new compact revision.
    }
  }

  /** etcd's keyIndex.keep: the newest revision of its key at or below compact, not a tombstone. */
  private boolean keptByCompaction(byte[] revKey, Revision r, byte[] value, long compact) {
    if (Revision.isTombstone(revKey)) {
      return false;
    }
    KeyIndex ki = lookup(KeyValueCodec.decodeKey(value));
    if (ki == null) {
      return false;
    }
    KeyIndex.Entries e = ki.entries();
    int i = e.find(compact);
    return i != KeyIndex.NONE && !e.tombstone(i) && e.main(i) == r.main() && e.sub(i) == r.sub();
  }

  /**
   * etcd's Hash (of the whole backend): CRC32-Castagnoli over every column family's keys and
   * values, except the consistent index and term, which differ between members that hold the same
   * data.
   */
  public int hash() {
    checkUsable();
    CRC32C crc = new CRC32C();
    try (org.rocksdb.Snapshot snap = db.getSnapshot();
        ReadOptions ro = new ReadOptions().setSnapshot(snap).setFillCache(false)) {
      for (ColumnFamilyHandle h : handles) {
        crc.update(h.getName());
        try (RocksIterator it = db.newIterator(h, ro)) {
          for (it.seekToFirst(); it.isValid(); it.next()) {
            byte[] k = it.key();
            if (h == metaCf
                && (Arrays.equals(k, META_CONSISTENT_INDEX) || Arrays.equals(k, META_TERM))) {
              continue;
            }
            crc.update(k);
            crc.update(it.value());
          }
          it.status();
        }
      }
      db.releaseSnapshot(snap);
    } catch (RocksDBException e) {
      throw new StorageException("cannot hash: " + e.getMessage(), e);
    }
    return (int) crc.getValue();
  }

  /** Every persisted lease record, by id. */
  public List<LeaseRecord> leases() {
    List<LeaseRecord> out = new ArrayList<>();
    scanCf(leaseCf, (k, v) -> out.add(LeaseRecord.decode(v)));
    return out;
  }

  /** Every persisted member record, by id. */
  public List<MemberRecord> members() {
    List<MemberRecord> out = new ArrayList<>();
    scanCf(membersCf, (k, v) -> out.add(MemberRecord.decode(v)));
    return out;
  }

  /** Every auth record (key → value, in key order), as of the last committed batch. */
  public void authRecords(java.util.function.BiConsumer<byte[], byte[]> f) {
    scanCf(authCf, f);
  }

  /**
   * The keys that carry a lease at the current revision, by lease id: what the lessor re-attaches
   * at startup (attached keys are derived from the keys' lease field, never stored twice).
   */
  public Map<Long, List<byte[]>> leasedKeys() {
    Map<Long, List<byte[]>> out = new HashMap<>();
    long rev = currentRevision;
    for (KeyIndex ki : index.values()) {
      KeyIndex.Entries e = ki.entries();
      int i = e.find(rev);
      if (i != KeyIndex.NONE && !e.tombstone(i)) {
        KeyValue kv = readStored(e.main(i), e.sub(i));
        if (kv.lease() != 0) {
          out.computeIfAbsent(kv.lease(), id -> new ArrayList<>()).add(kv.key());
        }
      }
    }
    return out;
  }

  private void scanCf(ColumnFamilyHandle cf, java.util.function.BiConsumer<byte[], byte[]> f) {
    checkUsable();
    try (RocksIterator it = db.newIterator(cf)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        f.accept(it.key(), it.value());
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * Writes a RocksDB checkpoint of the store (hard links where possible) into {@code target}, which
   * must not exist. {@link #open} on it gives a store with the same data, revision, compact
   * revision and consistent index as of the checkpoint. Any thread.
   */
  public void checkpoint(Path target) {
    checkUsable();
    try (Checkpoint cp = Checkpoint.create(db)) {
      cp.createCheckpoint(target.toString());
    } catch (RocksDBException e) {
      throw new StorageException("cannot checkpoint to " + target + ": " + e.getMessage(), e);
    }
  }

  /** Makes everything committed so far durable (fsyncs RocksDB's WAL). */
  public void sync() {
    checkUsable();
    try {
      db.flushWal(true);
    } catch (RocksDBException e) {
      throw new StorageException("cannot sync MVCC store: " + e.getMessage(), e);
    }
  }

  /** Bytes the store occupies on disk (SST files plus live WAL), RocksDB's estimate. */
  public long sizeOnDisk() {
    try {
      long total = 0;
      for (ColumnFamilyHandle h : handles) {
        total += Long.parseLong(db.getProperty(h, "rocksdb.total-sst-files-size"));
        total += Long.parseLong(db.getProperty(h, "rocksdb.cur-size-all-mem-tables"));
      }
      return total;
    } catch (RocksDBException e) {
      throw new StorageException("cannot read size: " + e.getMessage(), e);
    }
  }

  /** Flushes memtables to SST files (benchmarks and tests measure on-disk size with it). */
  public void flush() {
    try (org.rocksdb.FlushOptions fo = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
      db.flush(fo, handles);
    } catch (RocksDBException e) {
      throw new StorageException("cannot flush: " + e.getMessage(), e);
    }
  }

  /** Number of keys in the index (live or with history), for metrics. */
  public int indexedKeys() {
    return index.size();
  }

  // ---------------------------------------------------------------- internals

  /** A reader's fixed view: revision and compact revision read once, values from RocksDB. */
  private final class ReaderView implements Ranges.View {
    private final long revision;
    private final long compact;

    ReaderView(long revision, long compact) {
      this.revision = revision;
      this.compact = compact;
    }

    @Override
    public long revision() {
      return revision;
    }

    @Override
    public long compactRevision() {
      return compact;
    }

    @Override
    public KeyValue read(long main, long sub) {
      return readStored(main, sub);
    }

    @Override
    public List<KeyValue> readAll(List<long[]> revs) {
      return readStored(revs);
    }

    @Override
    public void offer(KeyIndex ki, KeyValue kv) {
      offerCache(ki, kv);
    }
  }

  RocksDB db() {
    return db;
  }

  void checkUsable() {
    if (failed) {
      throw new StorageException("MVCC store at " + dir + " failed on an earlier write; reopen it");
    }
  }

  /** Reads a stored revision (reader view); a missing one means compaction overtook the reader. */
  KeyValue readStored(long main, long sub) {
    byte[] v;
    try {
      v = db.get(kvCf, readOptions, Revision.toBytes(main, sub, false));
    } catch (RocksDBException e) {
      throw new StorageException("cannot read revision " + main + "_" + sub, e);
    }
    if (v == null) {
      if (main <= compactRevision) {
        throw new EtcdException(EtcdError.COMPACTED);
      }
      throw new StorageException("revision " + main + "_" + sub + " is in the index, not on disk");
    }
    return KeyValueCodec.decode(v);
  }

  /** Reads many stored revisions at once (one JNI call): a prefix range's values. */
  List<KeyValue> readStored(List<long[]> revs) {
    if (revs.size() == 1) {
      return List.of(readStored(revs.get(0)[0], revs.get(0)[1]));
    }
    List<ColumnFamilyHandle> cfs = java.util.Collections.nCopies(revs.size(), kvCf);
    List<byte[]> keys = new ArrayList<>(revs.size());
    for (long[] r : revs) {
      keys.add(Revision.toBytes(r[0], r[1], false));
    }
    List<byte[]> values;
    try {
      values = db.multiGetAsList(readOptions, cfs, keys);
    } catch (RocksDBException e) {
      throw new StorageException("cannot read revisions", e);
    }
    List<KeyValue> out = new ArrayList<>(values.size());
    for (int i = 0; i < values.size(); i++) {
      byte[] v = values.get(i);
      if (v == null) {
        return null;
      }
      out.add(KeyValueCodec.decode(v));
    }
    return out;
  }

  /**
   * Compacts the in-memory index at {@code rev} (apply thread) and returns the revisions it
   * dropped, which physical compaction deletes.
   */
  RevisionList compactIndex(long rev) {
    RevisionList dropped = new RevisionList();
    List<byte[]> empty = new ArrayList<>();
    for (KeyIndex ki : index.values()) {
      if (ki.compact(rev, dropped::add)) {
        empty.add(ki.key);
      }
    }
    for (byte[] k : empty) {
      KeyIndex gone = index.remove(k);
      exact.remove(new ExactKey(k));
      cachedBytes.addAndGet(-cost(gone.swapCached(null)));
    }
    return dropped;
  }

  /**
   * Deletes the dropped revisions from RocksDB on the compactor thread, in batches, then records
   * the compaction as finished and fsyncs: the future completes when the compaction is durable.
   */
  CompletableFuture<Long> deleteCompacted(long rev, RevisionList dropped) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    compactor.execute(
        () -> {
          long start = System.nanoTime();
          try {
            int batchSize = options.compactionBatchSize();
            for (int from = 0; from < dropped.size(); from += batchSize) {
              try (WriteBatch wb = new WriteBatch()) {
                int to = Math.min(dropped.size(), from + batchSize);
                for (int i = from; i < to; i++) {
                  long subWord = dropped.subWord(i);
                  boolean tomb = (subWord & KeyIndex.TOMBSTONE) != 0;
                  wb.delete(
                      kvCf, Revision.toBytes(dropped.main(i), subWord & ~KeyIndex.TOMBSTONE, tomb));
                }
                db.write(writeOptions, wb);
              }
            }
            db.put(metaCf, writeOptions, META_FINISHED_COMPACT, longBytes(rev));
            db.flushWal(true);
            log.info(
                "compacted at revision {}: deleted {} revisions in {} ms",
                rev,
                dropped.size(),
                (System.nanoTime() - start) / 1_000_000);
            done.complete(rev);
          } catch (RocksDBException | RuntimeException e) {
            log.error("compaction at revision {} failed", rev, e);
            done.completeExceptionally(
                new StorageException("compaction at " + rev + " failed: " + e.getMessage(), e));
          }
        });
    return done;
  }

  /** Bytes of heap the cached versions in the index take (approximate). */
  private final java.util.concurrent.atomic.AtomicLong cachedBytes =
      new java.util.concurrent.atomic.AtomicLong();

  private static long cost(KeyValue kv) {
    return kv == null ? 0 : kv.key().length + kv.value().length + 64;
  }

  /** Reader path: caches {@code kv} for {@code ki} if it has nothing cached and budget allows. */
  void offerCache(KeyIndex ki, KeyValue kv) {
    long c = cost(kv);
    if (cachedBytes.get() + c <= options.valueCacheBytes() && ki.cacheIfEmpty(kv)) {
      cachedBytes.addAndGet(c);
    }
  }

  /** Writer path: {@code kv} (null for a delete) replaces whatever {@code ki} had cached. */
  void replaceCache(KeyIndex ki, KeyValue kv) {
    long c = cost(kv);
    if (kv != null && cachedBytes.get() + c > options.valueCacheBytes()) {
      kv = null;
      c = 0;
    }
    cachedBytes.addAndGet(c - cost(ki.swapCached(kv)));
  }

  /** Subset of the index in [key, end) with etcd's range_end conventions. */
  Collection<KeyIndex> keysInRange(byte[] key, byte[] end) {
    if (end.length == 0) {
      KeyIndex ki = lookup(key);
      return ki == null ? List.of() : List.of(ki);
    }
    if (end.length == 1 && end[0] == 0) {
      return index.tailMap(key, true).values();
    }
    if (KEY_ORDER.compare(end, key) <= 0) {
      return List.of();
    }
    NavigableMap<byte[], KeyIndex> sub = index.subMap(key, true, end, false);
    return sub.values();
  }

  @Override
  public void close() {
    if (db != null) {
      compactor.shutdown();
      try {
        if (!compactor.awaitTermination(60, TimeUnit.SECONDS)) {
          log.warn("compactor of {} did not stop in 60 s", dir);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      try {
        if (!failed) {
          db.flushWal(true);
        }
      } catch (RocksDBException e) {
        log.warn("cannot sync WAL of {} at close", dir, e);
      }
      for (ColumnFamilyHandle h : handles) {
        h.close();
      }
      db.close();
      writeOptions.close();
      readOptions.close();
    }
    closeOptions();
  }

  private void closeOptions() {
    dbOptions.close();
    for (ColumnFamilyOptions o : cfOptions) {
      o.close();
    }
    blockCache.close();
  }
}
