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
 * One RocksDB instance of an {@link MvccStore} and everything derived from it: the in-memory key
 * index, the value cache, the revisions and the consistent index. {@link MvccStore} holds one
 * generation at a time and swaps in a new one when it restores a checkpoint; the old generation is
 * retired and closed once no reader uses its RocksDB handle any more. The layout, durability and
 * concurrency rules are in {@link MvccStore}'s class comment.
 *
 * <h2>Retirement</h2>
 *
 * Every reader call into RocksDB runs between {@link #enter()} and {@link #exit()}. {@link
 * #retire()} sets {@link #retired} and then waits until {@link #users} is zero; {@link #enter()}
 * increments {@link #users} and then checks {@link #retired} (both sequentially consistent), so
 * either the retiring thread sees the reader and waits for it, or the reader sees the retirement
 * and fails with {@link Retired} without touching RocksDB; {@link MvccStore} then retries the whole
 * request on the new generation. Reads served from the index and the value cache alone touch no
 * native handle and need no guard: they see this generation's state, which stays intact.
 */
final class Generation implements AutoCloseable {
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

  /** Column family ids in the order of {@link #handles} (getID is a JNI call). */
  private final int[] handleIds;

  final int kvCfId;

  /** The apply thread's write batch, reused by each {@link ApplyBatch} in turn. */
  final BatchBuffer batchBuffer = new BatchBuffer();

  final WriteOptions writeOptions;
  private final ReadOptions readOptions;
  private final ExecutorService compactor;

  /** key → its revisions, in key order for ranges; see the class comment for who mutates it. */
  ConcurrentSkipListMap<byte[], KeyIndex> index; // built by rebuild(), before publication

  /**
   * The same KeyIndex objects by exact key ({@link KeyTable}), for single-key reads and the
   * writer's lookups: a hash probe instead of a ~20-level skiplist walk (measured: most of a cached
   * point read's CPU). Mutated with {@link #index}, by the apply thread only; a key may be briefly
   * in one map and not the other, which readers cannot tell apart from a key created after their
   * revision.
   */
  private KeyTable exact; // as index

  /** The index entry of exactly {@code key}, or null. Any thread. */
  KeyIndex lookup(byte[] key) {
    return exact.get(key);
  }

  /** Adds a new key to both maps (apply thread, or open). */
  void insert(KeyIndex ki) {
    index.put(ki.key, ki);
    exact.insert(ki);
  }

  volatile long currentRevision;
  volatile long compactRevision;
  volatile long consistentIndex;
  volatile long term;

  /** Set when a write failed half-way: the in-memory index may be ahead of disk; reopen. */
  volatile boolean failed;

  /** Apply-thread only: true while an ApplyBatch is open. */
  boolean batchOpen;

  /** Readers inside a RocksDB call on this generation (see the class comment). */
  private final java.util.concurrent.atomic.AtomicInteger users =
      new java.util.concurrent.atomic.AtomicInteger();

  /** Set once this generation has been replaced: readers must move to the new one. */
  private volatile boolean retired;

  /** Thrown to a reader that reached a retired generation; {@link MvccStore} retries it. */
  static final class Retired extends RuntimeException {
    static final Retired INSTANCE = new Retired();

    private Retired() {
      super("MVCC store generation retired", null, false, false);
    }
  }

  /** Before a reader's RocksDB call: pins the handle open, or fails if it is being retired. */
  void enter() {
    users.incrementAndGet();
    if (retired) {
      users.decrementAndGet();
      throw Retired.INSTANCE;
    }
  }

  void exit() {
    users.decrementAndGet();
  }

  /**
   * Turns readers away and waits until none is inside a RocksDB call; the caller then closes this
   * generation. Calls made on the retiring thread itself must have returned.
   */
  void retire() {
    retired = true;
    while (users.get() != 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(100_000);
    }
  }

  /** Memtable size of the column families other than kv (meta, lease, members, auth). */
  static final long SMALL_CF_WRITE_BUFFER_BYTES = 4L << 20;

  private Generation(Path dir, MvccOptions options) {
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
        cfo.setWriteBufferSize(options.kvWriteBufferBytes())
            .setLevelCompactionDynamicLevelBytes(true);
      } else {
        // Few live keys, rewritten: the meta family gets the consistent index and term in every
        // apply batch. A memtable keeps each overwrite until a flush, so RocksDB's default 64 MiB
        // would be native memory that fills over a long write load for a few hundred bytes.
        cfo.setWriteBufferSize(SMALL_CF_WRITE_BUFFER_BYTES);
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
    this.handleIds = new int[handles.size()];
    for (int i = 0; i < handleIds.length; i++) {
      handleIds[i] = handles.get(i).getID();
    }
    this.kvCfId = handleIds[1];
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
   * Opens (or creates) the RocksDB instance in {@code dir}: reads the consistent index and compact
   * revision, rebuilds the key index from history and resumes a compaction that a crash
   * interrupted.
   *
   * @throws StorageException if the directory cannot be opened (locked by another process, not a
   *     directory, corrupt); nothing on disk is changed in that case
   */
  static Generation open(Path dir, MvccOptions options) {
    Generation g = new Generation(dir, options);
    try {
      g.rebuild();
    } catch (RuntimeException e) {
      g.close();
      throw e instanceof StorageException ? e : new StorageException("cannot restore " + dir, e);
    }
    return g;
  }

  private void rebuild() {
    long start = System.nanoTime();
    consistentIndex = metaLong(META_CONSISTENT_INDEX);
    term = metaLong(META_TERM);
    long scheduled = metaLong(META_SCHEDULED_COMPACT);
    long finished = metaLong(META_FINISHED_COMPACT);
    long estimate;
    try {
      estimate = db.getLongProperty(kvCf, "rocksdb.estimate-num-keys");
    } catch (RocksDBException e) {
      estimate = 0;
    }
    // Sized for the revision count (at least the key count): no rehash while 1M+ keys go in.
    int expected = (int) Math.min(1 << 26, Math.max(1 << 12, estimate));
    List<KeyIndex> created = new ArrayList<>();
    long[] scanned = scanHistory(created, expected);
    long lastRev = scanned[0];
    long revisions = scanned[1];
    // The exact-key table is filled on a second thread while this one builds the ordered map.
    KeyTable table = new KeyTable(created.size());
    Throwable[] fillFailure = {null};
    Thread filler =
        new Thread(
            () -> {
              try {
                for (KeyIndex ki : created) {
                  table.insert(ki);
                }
              } catch (Throwable t) {
                fillFailure[0] = t;
              }
            },
            "mvcc-key-table");
    filler.start();
    // The ordered map is built in one linear pass from the keys sorted (in parallel), instead of
    // a skiplist insert (a ~20-level search) per key.
    KeyIndex[] sorted = created.toArray(new KeyIndex[0]);
    Arrays.parallelSort(sorted, (x, y) -> Arrays.compareUnsigned(x.key, y.key));
    index = new ConcurrentSkipListMap<>(new SortedKeys(sorted));
    try {
      filler.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted while indexing " + dir, e);
    }
    if (fillFailure[0] != null) {
      throw new StorageException("cannot index " + dir + ": " + fillFailure[0], fillFailure[0]);
    }
    exact = table;
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

  /** Revisions handed from the reading thread to the indexing thread of {@link #scanHistory}. */
  private static final class Chunk {
    static final int SIZE = 4096;
    final long[] main = new long[SIZE];
    final long[] subWord = new long[SIZE];
    final long[] create = new long[SIZE];
    final long[] version = new long[SIZE];
    final byte[][] keys = new byte[SIZE][];
    int n; // -1: end of history
  }

  /**
   * Reads every revision of CF {@code kv} in order and appends it to its key's index entry,
   * creating entries (in {@code created}, in order of first appearance) for new keys. Two threads:
   * this one makes the JNI calls and decodes revision key and value header; an indexer applies them
   * in the same order. Returns {last main revision, number of revisions}.
   *
   * <p>The indexer finds keys through a {@link HashMap} of its own, not the {@link KeyTable}: its
   * chained buckets keep keys with neighbouring hashes (keys created in name order, a common
   * pattern) in neighbouring memory, which measured faster here than the table's scattered slots.
   */
  private long[] scanHistory(List<KeyIndex> created, int expected) {
    HashMap<KeyRef, KeyIndex> byKey = new HashMap<>(expected + expected / 3);
    java.util.concurrent.BlockingQueue<Chunk> full =
        new java.util.concurrent.ArrayBlockingQueue<>(4);
    java.util.concurrent.BlockingQueue<Chunk> free =
        new java.util.concurrent.ArrayBlockingQueue<>(4);
    for (int i = 0; i < 4; i++) {
      free.add(new Chunk());
    }
    Throwable[] failure = {null};
    Thread indexer =
        new Thread(
            () -> {
              try {
                KeyIndex last = null;
                while (true) {
                  Chunk c = full.take();
                  if (c.n < 0) {
                    return;
                  }
                  for (int j = 0; j < c.n; j++) {
                    byte[] key = c.keys[j];
                    KeyIndex ki = last;
                    // Consecutive revisions often touch the same key (a txn, a hot key).
                    if (ki == null || !Arrays.equals(ki.key, key)) {
                      ki = byKey.get(new KeyRef(key));
                      if (ki == null) {
                        ki = new KeyIndex(key);
                        byKey.put(ki, ki);
                        created.add(ki);
                      }
                    }
                    ki.restore(c.main[j], c.subWord[j], c.create[j], c.version[j]);
                    c.keys[j] = null;
                    last = ki;
                  }
                  free.put(c);
                }
              } catch (Throwable t) {
                failure[0] = t;
                full.clear();
                free.offer(new Chunk());
              }
            },
            "mvcc-index-rebuild");
    indexer.start();
    long lastRev = 0;
    long revisions = 0;
    boolean ended = false;
    try (ReadOptions ro = new ReadOptions().setFillCache(false).setReadaheadSize(4 << 20);
        RocksIterator it = db.newIterator(kvCf, ro)) {
      // Direct buffers: no Java array per key and value crosses JNI while 1M+ revisions stream by.
      // Only the value's head is copied: key, create_revision, mod_revision and version come
      // before the value field in etcd's encoding.
      ByteBuffer kbuf = ByteBuffer.allocateDirect(Revision.BYTES + 1);
      ByteBuffer vbuf = ByteBuffer.allocateDirect(512);
      byte[] revKey = new byte[Revision.BYTES + 1];
      KeyValueCodec.HeaderReader h = new KeyValueCodec.HeaderReader();
      Chunk c = free.take();
      c.n = 0;
      for (it.seekToFirst(); it.isValid(); it.next()) {
        kbuf.clear();
        int klen = it.key(kbuf);
        if (klen != Revision.BYTES && klen != Revision.BYTES + 1) {
          throw new StorageException("malformed revision key of " + klen + " bytes in " + dir);
        }
        kbuf.get(revKey, 0, klen);
        long main = Revision.getLong(revKey, 0);
        long sub = Revision.getLong(revKey, 9);
        boolean tombstone = klen == Revision.BYTES + 1 && revKey[Revision.BYTES] == 't';
        vbuf.clear();
        int vlen = it.value(vbuf);
        if (!h.read(vbuf) && vlen > vbuf.capacity()) {
          // A key longer than the head copied: read the whole value.
          vbuf = ByteBuffer.allocateDirect(Integer.highestOneBit(vlen) << 1);
          it.value(vbuf);
          if (!h.read(vbuf)) {
            throw new StorageException("malformed stored KeyValue at revision " + main);
          }
        }
        int j = c.n++;
        c.main[j] = main;
        c.subWord[j] = tombstone ? sub | KeyIndex.TOMBSTONE : sub;
        c.create[j] = tombstone ? 0 : h.createRevision;
        c.version[j] = tombstone ? 0 : h.version;
        c.keys[j] = h.key;
        if (c.n == Chunk.SIZE) {
          full.put(c);
          c = nextFree(free, failure);
          c.n = 0;
        }
        lastRev = main;
        revisions++;
      }
      it.status();
      full.put(c);
      Chunk end = nextFree(free, failure);
      end.n = -1;
      full.put(end);
      ended = true;
      indexer.join();
    } catch (RocksDBException e) {
      throw new StorageException("cannot read history in " + dir + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted while reading history in " + dir, e);
    } finally {
      if (!ended) {
        indexer.interrupt();
      }
    }
    if (failure[0] != null) {
      throw new StorageException("cannot index history in " + dir + ": " + failure[0], failure[0]);
    }
    return new long[] {lastRev, revisions};
  }

  private static Chunk nextFree(java.util.concurrent.BlockingQueue<Chunk> free, Throwable[] failure)
      throws InterruptedException {
    Chunk c = free.take();
    if (failure[0] != null) {
      throw new StorageException("cannot index history: " + failure[0], failure[0]);
    }
    return c;
  }

  /**
   * Keys sorted in unsigned byte order, viewed as the SortedMap that ConcurrentSkipListMap's copy
   * constructor builds from in linear time; it needs only the comparator and the entries.
   */
  private static final class SortedKeys extends java.util.AbstractMap<byte[], KeyIndex>
      implements java.util.SortedMap<byte[], KeyIndex> {
    private final KeyIndex[] sorted;

    SortedKeys(KeyIndex[] sorted) {
      this.sorted = sorted;
    }

    @Override
    public Comparator<? super byte[]> comparator() {
      return KEY_ORDER;
    }

    @Override
    public java.util.Set<Map.Entry<byte[], KeyIndex>> entrySet() {
      return new java.util.AbstractSet<>() {
        @Override
        public java.util.Iterator<Map.Entry<byte[], KeyIndex>> iterator() {
          return new java.util.Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
              return i < sorted.length;
            }

            @Override
            public Map.Entry<byte[], KeyIndex> next() {
              KeyIndex ki = sorted[i++];
              return new java.util.AbstractMap.SimpleImmutableEntry<>(ki.key, ki);
            }
          };
        }

        @Override
        public int size() {
          return sorted.length;
        }
      };
    }

    @Override
    public java.util.SortedMap<byte[], KeyIndex> subMap(byte[] from, byte[] to) {
      throw new UnsupportedOperationException();
    }

    @Override
    public java.util.SortedMap<byte[], KeyIndex> headMap(byte[] to) {
      throw new UnsupportedOperationException();
    }

    @Override
    public java.util.SortedMap<byte[], KeyIndex> tailMap(byte[] from) {
      throw new UnsupportedOperationException();
    }

    @Override
    public byte[] firstKey() {
      return sorted[0].key;
    }

    @Override
    public byte[] lastKey() {
      return sorted[sorted.length - 1].key;
    }
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
    long cur = currentRevision;
    if (r.revision() <= 0 && r.rangeEnd().length == 0 && r.key().length > 0 && plainPoint(r)) {
      // The common point read of the newest version, from the value cache: no view object, and a
      // header shared by every read at this revision.
      KeyIndex ki = lookup(r.key());
      KeyValue hit = ki == null ? null : ki.cachedNewestAt(cur);
      if (hit != null) {
        return new RangeResponse(
            header(cur), List.of(r.keysOnly() ? hit.withoutValue() : hit), false, 1);
      }
    }
    RangeResponse resp = Ranges.execute(this, r, new ReaderView(cur, compactRevision));
    if (r.revision() > 0 && r.revision() < compactRevision) {
      throw new EtcdException(EtcdError.COMPACTED);
    }
    return resp;
  }

  /** No filters and not count_only: what {@link #range}'s cached point read serves. */
  private static boolean plainPoint(RangeRequest r) {
    return !r.countOnly()
        && r.minModRevision() == 0
        && r.maxModRevision() == 0
        && r.minCreateRevision() == 0
        && r.maxCreateRevision() == 0;
  }

  /** The last response header handed out; immutable, so sharing it across threads is safe. */
  private ResponseHeader lastHeader = new ResponseHeader(0);

  private ResponseHeader header(long revision) {
    ResponseHeader h = lastHeader;
    if (h.revision() != revision) {
      h = new ResponseHeader(revision);
      lastHeader = h;
    }
    return h;
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
      enter();
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
      } finally {
        exit();
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
   * etcd's HashKV (3.4's {@code store.hashByRev}, checked against etcd 3.4.23 in {@code
   * HashKvMatchesEtcdTest}): CRC32-Castagnoli over etcd's key bucket name, then the (revision key,
   * stored KeyValue) pairs of every revision ≤ {@code revision} in revision order, where a revision
   * at or below the compact revision C counts only if it is in etcd's keep set at the hashed
   * revision — its key's newest revision at or below the hashed revision, not a tombstone ({@code
   * kvindex.Keep(rev)}). When that set is empty etcd hashes every revision ≤ C still on disk; that
   * is compaction's keep set at C once physical compaction has finished, and this store always uses
   * that set then, whatever its own deletion progress, so members with the same history agree. An
   * explicit revision at or below C fails as compacted (etcd 3.4 refuses C itself).
   */
  public HashKVResponse hashKV(long revision) {
    checkUsable();
    while (true) {
      long compact = compactRevision;
      long cur = currentRevision;
      if (revision > cur) {
        throw new EtcdException(EtcdError.FUTURE_REV);
      }
      if (revision > 0 && revision <= compact) {
        throw new EtcdException(EtcdError.COMPACTED);
      }
      long rev = revision == 0 ? cur : revision;
      boolean keepEmpty = compact > 0 && !anyLiveAt(rev);
      CRC32C crc = new CRC32C();
      crc.update(KEY_BUCKET_NAME);
      enter();
      try (Slice upper = new Slice(Revision.toBytes(rev + 1, 0, false));
          ReadOptions ro = new ReadOptions().setIterateUpperBound(upper).setFillCache(false);
          RocksIterator it = db.newIterator(kvCf, ro)) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          byte[] k = it.key();
          byte[] v = it.value();
          Revision r = Revision.fromBytes(k);
          if (r.main() <= compact && !newestAt(k, r, v, keepEmpty ? compact : rev)) {
            continue;
          }
          crc.update(k);
          crc.update(v);
        }
        it.status();
      } catch (RocksDBException e) {
        throw new StorageException("cannot read history: " + e.getMessage(), e);
      } finally {
        exit();
      }
      if (compactRevision == compact) {
        return new HashKVResponse(new ResponseHeader(cur), (int) crc.getValue(), compact);
      }
      // A compaction ran meanwhile: hash again against the new compact revision.
    }
  }

  /** Whether some key is live at {@code rev}: etcd's keep set at {@code rev} is not empty. */
  private boolean anyLiveAt(long rev) {
    for (KeyIndex ki : index.values()) {
      KeyIndex.Entries e = ki.entries();
      int i = e.find(rev);
      if (i != KeyIndex.NONE && !e.tombstone(i)) {
        return true;
      }
    }
    return false;
  }

  /**
   * etcd's keyIndex.keep at {@code at}: whether the revision is its key's newest at or below {@code
   * at} and not a tombstone.
   */
  private boolean newestAt(byte[] revKey, Revision r, byte[] value, long at) {
    if (Revision.isTombstone(revKey)) {
      return false;
    }
    KeyIndex ki = lookup(KeyValueCodec.decodeKey(value));
    if (ki == null) {
      return false;
    }
    KeyIndex.Entries e = ki.entries();
    int i = e.find(at);
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
    enter();
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
    } finally {
      exit();
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

  /** Every auth record (key → value, in key order), as of the last committed batch. */
  public void authRecords(java.util.function.BiConsumer<byte[], byte[]> f) {
    scanCf(authCf, f);
  }

  /** etcd's alarm bucket, kept in meta: {@code "alarm/"}, member id, alarm type (big-endian). */
  static final byte[] META_ALARM_PREFIX = "alarm/".getBytes(StandardCharsets.UTF_8);

  static byte[] alarmKey(long memberId, int type) {
    return java.nio.ByteBuffer.allocate(META_ALARM_PREFIX.length + 12)
        .put(META_ALARM_PREFIX)
        .putLong(memberId)
        .putInt(type)
        .array();
  }

  /** Every raised alarm: {member id, alarm type}, in key order. */
  public List<long[]> alarms() {
    List<long[]> out = new ArrayList<>();
    scanCf(
        metaCf,
        (k, v) -> {
          if (k.length == META_ALARM_PREFIX.length + 12
              && Arrays.equals(
                  k, 0, META_ALARM_PREFIX.length, META_ALARM_PREFIX, 0, META_ALARM_PREFIX.length)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(k, META_ALARM_PREFIX.length, 12);
            out.add(new long[] {b.getLong(), b.getInt()});
          }
        });
    return out;
  }

  private void scanCf(ColumnFamilyHandle cf, java.util.function.BiConsumer<byte[], byte[]> f) {
    checkUsable();
    enter();
    try (RocksIterator it = db.newIterator(cf)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        f.accept(it.key(), it.value());
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("cannot read: " + e.getMessage(), e);
    } finally {
      exit();
    }
  }

  /**
   * Writes a RocksDB checkpoint of the store (hard links where possible) into {@code target}, which
   * must not exist. {@link #open} on it gives a store with the same data, revision, compact
   * revision and consistent index as of the checkpoint. Any thread.
   */
  public void checkpoint(Path target) {
    checkUsable();
    enter();
    try (Checkpoint cp = Checkpoint.create(db)) {
      cp.createCheckpoint(target.toString());
    } catch (RocksDBException e) {
      throw new StorageException("cannot checkpoint to " + target + ": " + e.getMessage(), e);
    } finally {
      exit();
    }
  }

  /** Makes everything committed so far durable (fsyncs RocksDB's WAL). */
  public void sync() {
    checkUsable();
    enter();
    try {
      db.flushWal(true);
    } catch (RocksDBException e) {
      throw new StorageException("cannot sync MVCC store: " + e.getMessage(), e);
    } finally {
      exit();
    }
  }

  /** Bytes the store occupies on disk (SST files plus live WAL), RocksDB's estimate. */
  public long sizeOnDisk() {
    enter();
    try {
      long total = 0;
      for (ColumnFamilyHandle h : handles) {
        total += Long.parseLong(db.getProperty(h, "rocksdb.total-sst-files-size"));
        total += Long.parseLong(db.getProperty(h, "rocksdb.cur-size-all-mem-tables"));
      }
      return total;
    } catch (RocksDBException e) {
      throw new StorageException("cannot read size: " + e.getMessage(), e);
    } finally {
      exit();
    }
  }

  MvccStore.NativeMemory nativeMemory() {
    enter();
    try {
      return new MvccStore.NativeMemory(
          db.getAggregatedLongProperty("rocksdb.cur-size-all-mem-tables"),
          blockCache.getUsage(),
          db.getAggregatedLongProperty("rocksdb.estimate-table-readers-mem"));
    } catch (RocksDBException e) {
      throw new StorageException("cannot read memory use: " + e.getMessage(), e);
    } finally {
      exit();
    }
  }

  /**
   * Bytes of live data, RocksDB's estimate (etcd's db_size_in_use): the live-data estimate of each
   * column family's SST files plus its memtables. Superseded revisions that MVCC compaction deleted
   * stop counting here before their space is reclaimed on disk.
   */
  public long sizeInUse() {
    enter();
    try {
      long total = 0;
      for (ColumnFamilyHandle h : handles) {
        total += db.getLongProperty(h, "rocksdb.estimate-live-data-size");
        total += db.getLongProperty(h, "rocksdb.cur-size-all-mem-tables");
      }
      return total;
    } catch (RocksDBException e) {
      throw new StorageException("cannot read size: " + e.getMessage(), e);
    } finally {
      exit();
    }
  }

  /**
   * Online defragmentation: a full-range RocksDB compaction of every column family, down to the
   * bottommost level, which drops deleted revisions and their tombstones and rewrites what is left
   * compactly. Readers and the apply thread go on meanwhile (RocksDB compacts in the background of
   * their reads and writes); this call returns when it is done.
   */
  public void defragment() {
    checkUsable();
    enter();
    try (org.rocksdb.CompactRangeOptions o =
        new org.rocksdb.CompactRangeOptions()
            .setExclusiveManualCompaction(false)
            .setBottommostLevelCompaction(
                org.rocksdb.CompactRangeOptions.BottommostLevelCompaction.kForceOptimized)) {
      for (ColumnFamilyHandle h : handles) {
        db.compactRange(h, null, null, o);
      }
    } catch (RocksDBException e) {
      throw new StorageException("cannot defragment: " + e.getMessage(), e);
    } finally {
      exit();
    }
  }

  /** Flushes memtables to SST files (benchmarks and tests measure on-disk size with it). */
  public void flush() {
    enter();
    try (org.rocksdb.FlushOptions fo = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
      db.flush(fo, handles);
    } catch (RocksDBException e) {
      throw new StorageException("cannot flush: " + e.getMessage(), e);
    } finally {
      exit();
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

  /** The id of one of this generation's column families, without a JNI call. */
  int cfId(ColumnFamilyHandle cf) {
    for (int i = 0; i < handleIds.length; i++) {
      if (handles.get(i) == cf) {
        return handleIds[i];
      }
    }
    throw new IllegalArgumentException("not a column family of this store");
  }

  void checkUsable() {
    if (failed) {
      throw new StorageException("MVCC store at " + dir + " failed on an earlier write; reopen it");
    }
  }

  /** Reads a stored revision (reader view); a missing one means compaction overtook the reader. */
  KeyValue readStored(long main, long sub) {
    byte[] v;
    enter();
    try {
      v = db.get(kvCf, readOptions, Revision.toBytes(main, sub, false));
    } catch (RocksDBException e) {
      throw new StorageException("cannot read revision " + main + "_" + sub, e);
    } finally {
      exit();
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
    enter();
    try {
      values = db.multiGetAsList(readOptions, cfs, keys);
    } catch (RocksDBException e) {
      throw new StorageException("cannot read revisions", e);
    } finally {
      exit();
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
      exact.remove(gone);
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
