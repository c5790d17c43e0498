package io.etch.storage.mvcc;

import io.etch.storage.FileSync;
import io.etch.storage.lease.LeaseRecord;
import io.etch.storage.membership.MemberRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
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
 * <h2>Restore and the data directory</h2>
 *
 * {@link #restore} replaces the whole store with a checkpoint at runtime (a follower installing a
 * raft snapshot). The RocksDB instance then lives in a sub-directory {@code gen-N} of the store's
 * directory, named by the file {@code ACTIVE}; a store never restored keeps RocksDB directly in its
 * directory (so does a checkpoint), which {@link #open} tells apart by the absence of {@code
 * ACTIVE}. The atomic rename of {@code ACTIVE} is the commit point of a restore: a crash before it
 * leaves the old store, a crash after it the new one, and {@link #open} deletes what the other left
 * behind.
 *
 * <p>Each RocksDB instance and its index form a {@link Generation}; this class holds the current
 * one in one volatile field. A restore builds the new generation beside the old one, publishes it
 * with one volatile write, and closes the old one once no reader is inside a RocksDB call on it
 * (see {@link Generation}). A read sees one generation from start to end: the old state or the new,
 * never a mix; a read overtaken by a restore is retried on the new generation.
 *
 * <p>Close the store only after readers and the apply thread have stopped.
 */
public final class MvccStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MvccStore.class);

  /** The file naming the sub-directory that holds RocksDB, once the store has been restored. */
  static final String ACTIVE = "ACTIVE";

  private static final String ACTIVE_TMP = ACTIVE + ".tmp";
  private static final String GEN_PREFIX = "gen-";

  /**
   * Test hook: called with the name of each step of {@link #restore} as it is reached ("linked",
   * "copied", "opened", "pointer-written", "committed", "swapped", "old-partly-deleted", "done"),
   * so that a crash test can halt the JVM at each one.
   */
  static volatile Consumer<String> restoreStep = step -> {};

  private final Path dir;
  private final MvccOptions options;

  /** The current generation; replaced only by {@link #restore}, on the apply thread. */
  private volatile Generation gen;

  private MvccStore(Path dir, MvccOptions options, Generation gen) {
    this.dir = dir;
    this.options = options;
    this.gen = gen;
  }

  /**
   * Opens (or creates) the store in {@code dir}, a data directory or a checkpoint made by {@link
   * #checkpoint}: reads the consistent index and compact revision, rebuilds the key index from
   * history and resumes a compaction that a crash interrupted. Deletes what a crashed {@link
   * #restore} left behind (its unfinished copy, or the data it replaced).
   *
   * @throws StorageException if the directory cannot be opened (locked by another process, not a
   *     directory, corrupt); nothing on disk is changed in that case
   */
  public static MvccStore open(Path dir, MvccOptions options) {
    String active;
    try {
      Files.createDirectories(dir);
      active = readActive(dir);
    } catch (IOException e) {
      throw new StorageException("cannot open MVCC store at " + dir + ": " + e, e);
    }
    Generation g = Generation.open(active == null ? dir : dir.resolve(active), options);
    try {
      removeLeftovers(dir, active);
    } catch (IOException e) {
      g.close();
      throw new StorageException("cannot clean up MVCC store at " + dir + ": " + e, e);
    }
    return new MvccStore(dir, options, g);
  }

  public static MvccStore open(Path dir) {
    return open(dir, MvccOptions.defaults());
  }

  /** The generation directory {@code ACTIVE} names, or null for a store never restored. */
  private static String readActive(Path dir) throws IOException {
    Path active = dir.resolve(ACTIVE);
    if (!Files.exists(active)) {
      return null;
    }
    String name = Files.readString(active, StandardCharsets.US_ASCII).trim();
    if (!name.matches(GEN_PREFIX + "[0-9]+") || !Files.isDirectory(dir.resolve(name))) {
      throw new IOException(active + " names " + name + ", not a generation directory");
    }
    return name;
  }

  /**
   * Deletes every generation directory but the active one (an unfinished restore, or one a finished
   * restore replaced), a pointer file never renamed into place, and, once a generation is active,
   * the RocksDB files of the never-restored layout it replaced.
   */
  private static void removeLeftovers(Path dir, String active) throws IOException {
    boolean changed = Files.deleteIfExists(dir.resolve(ACTIVE_TMP));
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (name.startsWith(GEN_PREFIX) && Files.isDirectory(p) && !name.equals(active)) {
          log.info("removing {}, left by an earlier restore", p);
          deleteTree(p);
          changed = true;
        } else if (active != null && Files.isRegularFile(p) && isRocksDbFile(name)) {
          Files.delete(p);
          changed = true;
        }
      }
    }
    if (changed) {
      FileSync.syncDirectory(dir);
    }
  }

  /** The names RocksDB gives the files of a database directory. */
  private static boolean isRocksDbFile(String name) {
    return name.equals("CURRENT")
        || name.equals("IDENTITY")
        || name.equals("LOCK")
        || name.startsWith("LOG")
        || name.startsWith("MANIFEST-")
        || name.startsWith("OPTIONS-")
        || name.endsWith(".sst")
        || name.endsWith(".log")
        || name.endsWith(".blob")
        || name.endsWith(".dbtmp");
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
            if (e != null) {
              throw e;
            }
            Files.delete(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  // ---------------------------------------------------------------- restore

  /**
   * Replaces the entire contents of the store — history, revisions, compact revision, consistent
   * index and term, leases and members — with those of {@code checkpointDir}, a checkpoint made by
   * {@link #checkpoint} (on this member or another), then rebuilds the key index and starts an
   * empty value cache. This object stays usable: callers keep their reference.
   *
   * <p>Durable and atomic: the checkpoint's files are hard-linked (SST files, which RocksDB never
   * changes) or copied into a new generation directory and fsynced, the new RocksDB is opened and
   * checked there, and only then is {@code ACTIVE} atomically renamed to name it and the directory
   * fsynced. A crash at any point leaves, on the next {@link #open}, either the old store intact or
   * the new one complete. {@code checkpointDir} is left as it was and may be deleted afterwards.
   *
   * <p>Concurrency: call it on the apply thread, with no {@link ApplyBatch} open. Readers go on
   * meanwhile: until the switch they read the old state; a read that overlaps the switch either
   * completes on the old state or is retried on the new one. Memory for both indexes is needed
   * while the new one is built.
   *
   * @throws StorageException if the checkpoint cannot be copied or opened; the store is then
   *     unchanged
   */
  public void restore(Path checkpointDir) {
    Generation old = gen;
    if (old.batchOpen) {
      throw new IllegalStateException("restore with an ApplyBatch open");
    }
    long start = System.nanoTime();
    String name;
    Path target;
    try {
      name = GEN_PREFIX + nextGeneration();
      target = dir.resolve(name);
    } catch (IOException e) {
      throw new StorageException("cannot list " + dir + ": " + e, e);
    }
    Generation next = null;
    boolean committed = false;
    try {
      Files.createDirectory(target);
      copyCheckpoint(checkpointDir, target);
      FileSync.syncDirectory(target);
      FileSync.syncDirectory(dir);
      restoreStep.accept("copied");
      next = Generation.open(target, options);
      // RocksDB's own writes at open (a resumed compaction) are durable before the commit.
      next.sync();
      restoreStep.accept("opened");
      Path tmp = dir.resolve(ACTIVE_TMP);
      Files.writeString(tmp, name + "\n", StandardCharsets.US_ASCII);
      FileSync.syncFile(tmp);
      restoreStep.accept("pointer-written");
      Files.move(tmp, dir.resolve(ACTIVE), StandardCopyOption.ATOMIC_MOVE);
      committed = true;
      FileSync.syncDirectory(dir);
      restoreStep.accept("committed");
    } catch (IOException | RuntimeException e) {
      if (!committed) {
        if (next != null) {
          next.close();
        }
        try {
          deleteTree(target);
          Files.deleteIfExists(dir.resolve(ACTIVE_TMP));
        } catch (IOException cleanup) {
          e.addSuppressed(cleanup);
        }
        throw e instanceof StorageException se
            ? se
            : new StorageException(
                "cannot restore " + dir + " from " + checkpointDir + ": " + e.getMessage(), e);
      }
      // ACTIVE already names the new generation, only its directory's fsync failed: go on with
      // the new state, which is what a restart would most likely find.
      log.warn("restore of {}: cannot fsync the directory after the switch", dir, e);
    }
    gen = next;
    old.retire();
    old.close();
    restoreStep.accept("swapped");
    removeOld(old.directory());
    restoreStep.accept("done");
    log.info(
        "restored MVCC store {} from {} into {}: revision {}, consistent index {}, in {} ms",
        dir,
        checkpointDir,
        name,
        next.currentRevision,
        next.consistentIndex,
        (System.nanoTime() - start) / 1_000_000);
  }

  /** One past the highest generation number in the directory. */
  private long nextGeneration() throws IOException {
    long max = 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, GEN_PREFIX + "*")) {
      for (Path p : ds) {
        String n = p.getFileName().toString().substring(GEN_PREFIX.length());
        if (n.matches("[0-9]+")) {
          max = Math.max(max, Long.parseLong(n));
        }
      }
    }
    return max + 1;
  }

  /** Hard-links SST files (immutable in RocksDB), copies the rest; fsyncs every file. */
  private static void copyCheckpoint(Path from, Path to) throws IOException {
    boolean first = true;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(from)) {
      for (Path src : ds) {
        String name = src.getFileName().toString();
        if (!Files.isRegularFile(src)) {
          throw new IOException("unexpected " + src + " in a checkpoint");
        }
        if (name.equals("LOCK") || name.startsWith("LOG")) {
          continue; // not data: RocksDB's lock file and its info log
        }
        Path dst = to.resolve(name);
        boolean linked = false;
        if (name.endsWith(".sst")) {
          try {
            Files.createLink(dst, src);
            linked = true;
          } catch (IOException | UnsupportedOperationException e) {
            // another file system: copy
          }
        }
        if (!linked) {
          Files.copy(src, dst);
        }
        FileSync.syncFile(dst);
        if (first) {
          restoreStep.accept("linked");
          first = false;
        }
      }
    }
  }

  /** Deletes the data a restore replaced; whatever remains after a crash, open deletes. */
  private void removeOld(Path oldData) {
    try {
      if (oldData.equals(dir)) {
        boolean first = true;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
          for (Path p : ds) {
            if (Files.isRegularFile(p) && isRocksDbFile(p.getFileName().toString())) {
              Files.delete(p);
              if (first) {
                restoreStep.accept("old-partly-deleted");
                first = false;
              }
            }
          }
        }
      } else {
        deleteTree(oldData);
        restoreStep.accept("old-partly-deleted");
      }
      FileSync.syncDirectory(dir);
    } catch (IOException e) {
      log.warn("cannot delete {} after a restore; the next open removes it", oldData, e);
    }
  }

  // ---------------------------------------------------------------- state

  /** The current generation (tests and benchmarks reach RocksDB and the index through it). */
  Generation gen() {
    return gen;
  }

  /** The revision of the last committed write transaction (reads with revision 0 see it). */
  public long currentRevision() {
    return gen.currentRevision;
  }

  /** The revision of the last compaction (0 if none): reads below it fail as compacted. */
  public long compactRevision() {
    return gen.compactRevision;
  }

  /** Index of the last raft entry whose changes are in the store; the server replays past it. */
  public long consistentIndex() {
    return gen.consistentIndex;
  }

  /** Term of the raft entry at {@link #consistentIndex()}. */
  public long term() {
    return gen.term;
  }

  /** The store's directory, as given to {@link #open}. */
  public Path directory() {
    return dir;
  }

  // ---------------------------------------------------------------- reads (any thread)

  /** Runs a read on the current generation, again on the next one if a restore overtook it. */
  private <T> T read(Function<Generation, T> f) {
    while (true) {
      try {
        return f.apply(gen);
      } catch (Generation.Retired e) {
        // a restore switched generations under this read: run it on the new state
      }
    }
  }

  /** etcd's Range at {@code r.revision()} (0: current); serializable, served from local state. */
  public RangeResponse range(RangeRequest r) {
    while (true) {
      try {
        return gen.range(r);
      } catch (Generation.Retired e) {
        // a restore switched generations under this read: run it on the new state
      }
    }
  }

  /** Starts the apply thread's next write batch; at most one is open at a time. */
  public ApplyBatch newBatch() {
    return gen.newBatch();
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
    return read(g -> g.events(fromRevision, toRevision, maxEvents));
  }

  /** etcd's HashKV at {@code revision} (0: current); see {@link Generation#hashKV}. */
  public HashKVResponse hashKV(long revision) {
    return read(g -> g.hashKV(revision));
  }

  /**
   * etcd's Hash (of the whole backend): CRC32-Castagnoli over every column family's keys and
   * values, except the consistent index and term, which differ between members that hold the same
   * data.
   */
  public int hash() {
    return read(Generation::hash);
  }

  /** Every persisted lease record, by id. */
  public List<LeaseRecord> leases() {
    return read(Generation::leases);
  }

  /** Every persisted member record, by id. */
  /**
   * Every auth record (key → value, in key order), as of the last committed batch; the server owns
   * the encoding (etcd's auth, authUsers and authRoles buckets).
   */
  public void authRecords(java.util.function.BiConsumer<byte[], byte[]> f) {
    read(
        g -> {
          g.authRecords(f);
          return null;
        });
  }

  public List<MemberRecord> members() {
    return read(Generation::members);
  }

  /**
   * Every raised alarm as {member id, alarm type}, as of the last committed batch (etcd's alarm
   * bucket).
   */
  public List<long[]> alarms() {
    return read(Generation::alarms);
  }

  /**
   * The keys that carry a lease at the current revision, by lease id: what the lessor re-attaches
   * at startup (attached keys are derived from the keys' lease field, never stored twice).
   */
  public Map<Long, List<byte[]>> leasedKeys() {
    return read(Generation::leasedKeys);
  }

  /**
   * Writes a RocksDB checkpoint of the store (hard links where possible) into {@code target}, which
   * must not exist and must lie outside the store's directory. {@link #open} on it gives a store
   * with the same data, revision, compact revision and consistent index as of the checkpoint, and
   * {@link #restore} on another store copies it in. Any thread.
   */
  public void checkpoint(Path target) {
    read(
        g -> {
          g.checkpoint(target);
          return null;
        });
  }

  /** Makes everything committed so far durable (fsyncs RocksDB's WAL). */
  public void sync() {
    read(
        g -> {
          g.sync();
          return null;
        });
  }

  /** Bytes the store occupies on disk (SST files plus live WAL), RocksDB's estimate. */
  public long sizeOnDisk() {
    return read(Generation::sizeOnDisk);
  }

  /**
   * What RocksDB holds in native memory, in bytes, by its own accounting: the memtables of every
   * column family, the block cache's contents, and the table readers (index and filter blocks).
   */
  public record NativeMemory(long memtables, long blockCache, long tableReaders) {}

  /** The store's {@link NativeMemory} now. */
  public NativeMemory nativeMemory() {
    return read(Generation::nativeMemory);
  }

  /**
   * Bytes of live data, RocksDB's estimate: what etcd reports as db_size_in_use. Drops once MVCC
   * compaction has deleted superseded revisions, before {@link #defragment} returns their space.
   */
  public long sizeInUse() {
    return read(Generation::sizeInUse);
  }

  /**
   * etcd's Defragment, online: a full-range RocksDB compaction that reclaims the space of deleted
   * revisions while reads and writes go on (etcd's blocks the member). Any thread; returns when
   * done.
   */
  public void defragment() {
    read(
        g -> {
          g.defragment();
          return null;
        });
  }

  /** Flushes memtables to SST files (benchmarks and tests measure on-disk size with it). */
  public void flush() {
    read(
        g -> {
          g.flush();
          return null;
        });
  }

  /** Number of keys in the index (live or with history), for metrics. */
  public int indexedKeys() {
    return gen.indexedKeys();
  }

  @Override
  public void close() {
    gen.close();
  }
}
