package io.etch.storage.wal;

import io.etch.raft.Entry;
import io.etch.raft.HardState;
import io.etch.raft.SnapshotMetadata;
import io.etch.storage.FileSync;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-ahead log: a directory of preallocated segment files of framed records ({@link Frame}),
 * written by one committer thread with group commit.
 *
 * <p>Concurrency. Any thread may call {@link #append}, {@link #saveSnapshot} and {@link #save};
 * they only enqueue under {@code lock}. The committer thread takes everything queued, writes it
 * with one positional write, calls {@code force(false)} (fdatasync) once if any request asked for
 * durability, then completes the requests' futures; requests that arrive while that fsync runs wait
 * in the queue and share the next one. A future completes only after the write (and fsync, when
 * asked) covering it has returned, and futures complete in enqueue order. {@link #save} (the raft
 * loop's blocking form) commits its request on the calling thread when nothing is queued and no
 * commit runs: the raft loop waits for the fsync either way, and doing it itself saves two thread
 * wake-ups per Ready. Fields marked "committer" are touched only by whichever thread holds the
 * committer role ({@code committing}, taken and released under {@code lock}, which also publishes
 * them to the next holder), and by the opening thread before the committer starts. {@code segments}
 * is guarded by its own monitor because readers of old entries and {@link #releaseTo} use it from
 * other threads.
 *
 * <p>Failure. After any write, fsync or segment-creation error the WAL is failed: every pending and
 * later request completes exceptionally with that error. An fsync error cannot be retried safely
 * (the kernel may have dropped the dirty pages), so the node must restart and recover.
 *
 * <p>Segments. The first records of every segment are its preallocated length, the metadata, the
 * newest snapshot marker and the newest hard state, so a segment is readable without its
 * predecessors, and old segments can be deleted. When a write leaves a segment at or past its size,
 * the committer fsyncs it and cuts a new one: written and fsynced under a temporary name, renamed,
 * then the directory fsynced.
 */
public final class Wal implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Wal.class);
  private static final String TMP_SUFFIX = ".tmp";
  private static final String LOCK_FILE = "LOCK";

  /** Tunables. */
  public record Options(long segmentBytes) {
    public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
    public static final Options DEFAULT = new Options(DEFAULT_SEGMENT_BYTES);

    public Options {
      if (segmentBytes < 4096 || segmentBytes > (1L << 40)) {
        throw new IllegalArgumentException("segmentBytes out of range: " + segmentBytes);
      }
    }
  }

  /** Where an append's entries were written: their segment and byte offsets in it. */
  public record Appended(long segmentSeq, long[] entryOffsets) {}

  /** An opened WAL and what recovery read from it. */
  public static final class Recovered {
    private final Wal wal;
    private final WalReader.Replay replay;

    Recovered(Wal wal, WalReader.Replay replay) {
      this.wal = wal;
      this.replay = replay;
    }

    public Wal wal() {
      return wal;
    }

    WalReader.Replay replay() {
      return replay;
    }

    public byte[] metadata() {
      return replay.metadata().clone();
    }

    public HardState hardState() {
      return replay.hardState();
    }

    /** The newest snapshot marker (index 0 with the bootstrap configuration if none was saved). */
    public SnapshotMetadata snapshot() {
      return replay.snapshot();
    }

    /** Every entry after the snapshot, read back from the segments where not cached. */
    public List<Entry> entries() throws IOException {
      EntryLog log = replay.log();
      List<Entry> out = new ArrayList<>();
      for (long i = log.firstIndex(); i <= log.lastIndex(); i++) {
        Entry e = log.cached(i);
        out.add(e != null ? e : wal.readEntry(log.location(i)));
      }
      return out;
    }

    /** Bytes of torn tail that recovery zeroed. */
    public long truncatedBytes() {
      return replay.truncatedBytes();
    }
  }

  private final Path dir;
  private final long segmentBytes;
  private final byte[] metadata;
  private final FileChannel lockChannel;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition queued = lock.newCondition();
  private ArrayList<Request> queue = new ArrayList<>(); // guarded by lock
  private boolean closed; // guarded by lock
  private boolean committing; // guarded by lock: a thread holds the committer role
  private volatile Throwable failure;

  private final Map<Long, Segment> segments = new TreeMap<>(); // guarded by itself

  private FileChannel current; // committer
  private long currentSeq; // committer
  private long writePos; // committer
  private long lastIndex; // committer
  private HardState lastHardState = HardState.EMPTY; // committer
  private SnapshotMetadata lastSnapshot; // committer
  private final RecordBuffer buffer = new RecordBuffer(); // committer
  private volatile long fsyncs; // written by the committer only; read by metrics
  private final Thread committer;
  private final java.util.concurrent.ExecutorService preallocator;
  private CompletableFuture<Path> nextSegmentFile; // committer

  /** How an append is made durable; replaced only by tests that must observe the fsync. */
  interface Forcer {
    void force(FileChannel ch) throws IOException;
  }

  volatile Forcer forcer = ch -> ch.force(false);

  private volatile FsyncListener fsyncListener = FsyncListener.NONE;

  private static final class Segment {
    final SegmentName name;
    FileChannel reader;

    Segment(SegmentName name) {
      this.name = name;
    }
  }

  private static final class Request {
    final HardState hardState;
    final List<Entry> entries;
    final SnapshotMetadata snapshot;
    final boolean installed;
    final boolean sync;
    final CompletableFuture<Appended> done = new CompletableFuture<>();

    Request(
        HardState hs,
        List<Entry> entries,
        SnapshotMetadata snapshot,
        boolean installed,
        boolean sync) {
      this.hardState = hs;
      this.entries = entries;
      this.snapshot = snapshot;
      this.installed = installed;
      this.sync = sync;
    }
  }

  private Wal(Path dir, Options options, byte[] metadata, FileChannel lockChannel) {
    this.dir = dir;
    this.segmentBytes = options.segmentBytes();
    this.metadata = metadata;
    this.lockChannel = lockChannel;
    this.committer = new Thread(this::commitLoop, "wal-committer-" + dir.getFileName());
    this.committer.setDaemon(true);
    this.preallocator =
        java.util.concurrent.Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "wal-preallocate-" + dir.getFileName());
              t.setDaemon(true);
              return t;
            });
  }

  /** True if {@code dir} holds at least one WAL segment. */
  public static boolean exists(Path dir) throws IOException {
    return Files.isDirectory(dir) && !listSegments(dir).isEmpty();
  }

  /**
   * Creates a new WAL in {@code dir} (created if missing; must hold no segments), with {@code
   * metadata} recorded at the head of every segment and {@code snapshot} as the initial snapshot
   * marker (index 0 with the bootstrap configuration for a new member).
   */
  public static Wal create(Path dir, byte[] metadata, SnapshotMetadata snapshot, Options options)
      throws IOException {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new IOException("cannot create WAL directory " + dir + ": " + describe(e), e);
    }
    if (!Files.isWritable(dir)) {
      throw new AccessDeniedException(dir.toString(), null, "WAL directory is not writable");
    }
    FileChannel lockChannel = lockDir(dir);
    try {
      if (!listSegments(dir).isEmpty()) {
        throw new IOException("WAL already exists in " + dir);
      }
      deleteTemporaries(dir);
      Wal wal = new Wal(dir, options, metadata.clone(), lockChannel);
      wal.lastSnapshot = snapshot;
      wal.lastIndex = snapshot.index();
      wal.createSegment(new SegmentName(0, snapshot.index() + 1));
      if (dir.toAbsolutePath().getParent() != null) {
        FileSync.syncDirectory(dir.toAbsolutePath().getParent());
      }
      wal.committer.start();
      LOG.info("created WAL in {}", dir);
      return wal;
    } catch (IOException | RuntimeException e) {
      lockChannel.close();
      throw e;
    }
  }

  /**
   * Opens the WAL in {@code dir}, recovering it: every record is read and CRC-checked, a torn tail
   * is zeroed, and damage before the tail raises {@link WalCorruptionException}.
   *
   * @param cacheBytes bytes of most recent entries recovery keeps in memory
   */
  public static Recovered open(Path dir, Options options, long cacheBytes) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new NoSuchFileException(dir.toString(), null, "WAL directory does not exist");
    }
    FileChannel lockChannel = lockDir(dir);
    try {
      deleteTemporaries(dir);
      List<SegmentName> names = listSegments(dir);
      if (names.isEmpty()) {
        throw new NoSuchFileException(dir.toString(), null, "no WAL segments in directory");
      }
      WalReader.Replay replay = WalReader.replay(dir, names, cacheBytes);
      SegmentName last = names.get(names.size() - 1);
      Wal wal = new Wal(dir, options, replay.metadata(), lockChannel);
      synchronized (wal.segments) {
        for (SegmentName n : names) {
          wal.segments.put(n.seq(), new Segment(n));
        }
      }
      wal.current = FileChannel.open(last.in(dir), StandardOpenOption.WRITE);
      wal.currentSeq = last.seq();
      wal.writePos = replay.lastSegmentEnd();
      wal.lastIndex = replay.log().lastIndex();
      wal.lastHardState = replay.hardState();
      wal.lastSnapshot = replay.snapshot();
      wal.startPreallocation();
      wal.committer.start();
      LOG.info(
          "opened WAL in {}: {} segments, entries [{}, {}], {}",
          dir,
          names.size(),
          replay.log().firstIndex(),
          replay.log().lastIndex(),
          replay.hardState());
      return new Recovered(wal, replay);
    } catch (IOException | RuntimeException e) {
      lockChannel.close();
      throw e;
    }
  }

  public Path dir() {
    return dir;
  }

  public byte[] metadata() {
    return metadata.clone();
  }

  /** fsyncs done so far (for benchmarks and metrics). */
  public long fsyncs() {
    return fsyncs;
  }

  /** Who is told the duration of every fsync of a segment from now on (metrics). */
  public void fsyncListener(FsyncListener listener) {
    this.fsyncListener = listener == null ? FsyncListener.NONE : listener;
  }

  /**
   * Queues entries and a hard state (skipped if null or empty) to be written in this order. The
   * future completes once they are written and, if {@code sync}, fsynced; it fails if the WAL has
   * failed or is closed.
   */
  public CompletableFuture<Appended> append(HardState hs, List<Entry> entries, boolean sync) {
    return enqueue(new Request(hs, List.copyOf(entries), null, false, sync));
  }

  /** Like {@link #append} with sync: completes when the entries and hard state are durable. */
  public CompletableFuture<Void> appendAsync(HardState hs, List<Entry> entries) {
    return append(hs, entries, true).thenApply(a -> null);
  }

  /**
   * Blocking form for the raft loop: returns when written (and fsynced if {@code sync}). When no
   * other request is queued or being committed, the calling thread commits it itself (same write,
   * same fsync, same order as the committer would); otherwise it queues behind them and waits.
   */
  public Appended save(HardState hs, List<Entry> entries, boolean sync) throws IOException {
    Throwable f = failure;
    if (f != null) {
      throw failed(f);
    }
    Request r = new Request(hs, List.copyOf(entries), null, false, sync);
    boolean inline;
    lock.lock();
    try {
      if (closed) {
        throw new IOException("WAL " + dir + " is closed");
      }
      inline = !committing && queue.isEmpty();
      if (inline) {
        committing = true;
      } else {
        queue.add(r);
        if (queue.size() == 1) {
          queued.signal();
        }
      }
    } finally {
      lock.unlock();
    }
    if (inline) {
      try {
        ArrayList<Request> batch = new ArrayList<>(1);
        batch.add(r);
        commitOrFail(batch);
      } finally {
        releaseCommitter();
      }
    }
    return join(r.done);
  }

  /** No thread holds the committer role and nothing is queued (tests: the next save is inline). */
  boolean idle() {
    lock.lock();
    try {
      return !committing && queue.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  private void releaseCommitter() {
    lock.lock();
    try {
      committing = false;
      if (!queue.isEmpty() || closed) {
        queued.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Durably records a snapshot marker. With {@code installed} the snapshot replaced the log (a
   * follower installed the leader's snapshot): replay drops every entry written before it.
   */
  public void saveSnapshot(SnapshotMetadata meta, boolean installed) throws IOException {
    join(enqueue(new Request(null, List.of(), meta, installed, true)));
  }

  private static <T> T join(CompletableFuture<T> f) throws IOException {
    try {
      return f.join();
    } catch (CompletionException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        throw io;
      }
      if (c instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException(c);
    }
  }

  private CompletableFuture<Appended> enqueue(Request r) {
    Throwable f = failure;
    if (f != null) {
      return CompletableFuture.failedFuture(failed(f));
    }
    lock.lock();
    try {
      if (closed) {
        return CompletableFuture.failedFuture(new IOException("WAL " + dir + " is closed"));
      }
      queue.add(r);
      if (queue.size() == 1) {
        queued.signal();
      }
    } finally {
      lock.unlock();
    }
    return r.done;
  }

  private IOException failed(Throwable cause) {
    return new IOException("WAL " + dir + " failed earlier: " + describe(cause), cause);
  }

  private void commitLoop() {
    while (true) {
      ArrayList<Request> batch;
      lock.lock();
      try {
        while (committing || (queue.isEmpty() && !closed)) {
          queued.awaitUninterruptibly();
        }
        if (queue.isEmpty()) {
          break;
        }
        batch = queue;
        queue = new ArrayList<>();
        committing = true;
      } finally {
        lock.unlock();
      }
      try {
        commitOrFail(batch);
      } finally {
        releaseCommitter();
      }
    }
  }

  /** Commits a batch, or fails it (and the WAL) on any error; the caller holds the role. */
  private void commitOrFail(ArrayList<Request> batch) {
    Throwable f = failure;
    if (f != null) {
      IOException e = failed(f);
      batch.forEach(r -> r.done.completeExceptionally(e));
      return;
    }
    try {
      commit(batch);
    } catch (IOException | RuntimeException | Error e) {
      LOG.error("WAL {} failed; refusing further writes", dir, e);
      failure = e;
      batch.forEach(r -> r.done.completeExceptionally(e));
    }
  }

  /** Writes one batch with one write and at most one fsync; then maybe cuts a segment. */
  private void commit(ArrayList<Request> batch) throws IOException {
    buffer.clear();
    boolean sync = false;
    long[][] offsets = new long[batch.size()][];
    for (int k = 0; k < batch.size(); k++) {
      Request r = batch.get(k);
      if (r.snapshot != null) {
        buffer.snapshot(r.snapshot, r.installed);
        lastSnapshot = r.snapshot;
        if (r.installed) {
          lastIndex = r.snapshot.index();
        }
      }
      long[] offs = new long[r.entries.size()];
      for (int i = 0; i < offs.length; i++) {
        Entry e = r.entries.get(i);
        offs[i] = writePos + buffer.entry(e);
        lastIndex = e.index();
      }
      offsets[k] = offs;
      if (r.hardState != null && !r.hardState.isEmpty()) {
        buffer.hardState(r.hardState);
        lastHardState = r.hardState;
      }
      sync |= r.sync;
    }
    ByteBuffer out = buffer.flip();
    long at = writePos;
    while (out.hasRemaining()) {
      at += current.write(out, at);
    }
    writePos = at;
    if (sync) {
      long start = System.nanoTime();
      forcer.force(current);
      fsyncListener.fsynced(System.nanoTime() - start);
      fsyncs++;
    }
    for (int k = 0; k < batch.size(); k++) {
      batch.get(k).done.complete(new Appended(currentSeq, offsets[k]));
    }
    if (writePos >= segmentBytes) {
      cut();
    }
  }

  private void cut() throws IOException {
    long start = System.nanoTime();
    current.force(false);
    fsyncListener.fsynced(System.nanoTime() - start);
    fsyncs++;
    FileChannel old = current;
    createSegment(new SegmentName(currentSeq + 1, lastIndex + 1));
    old.close();
  }

  /**
   * Creates segment {@code name} with its head records, preallocated to the segment size, under a
   * temporary name; fsyncs it, renames it into place and fsyncs the directory, so that after a
   * crash the segment either does not exist or is whole.
   */
  private void createSegment(SegmentName name) throws IOException {
    Path target = name.in(dir);
    Path tmp = takePreallocated();
    if (tmp == null) {
      tmp = dir.resolve(name.fileName() + TMP_SUFFIX);
      try (FileChannel ch =
          FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        preallocate(ch, segmentBytes);
      } catch (IOException | RuntimeException e) {
        Files.deleteIfExists(tmp);
        throw new IOException("cannot create WAL segment " + target + ": " + describe(e), e);
      }
    }
    FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      buffer.clear();
      buffer.segment(segmentBytes);
      buffer.metadata(metadata);
      if (lastSnapshot != null) {
        buffer.snapshot(lastSnapshot, false);
      }
      if (!lastHardState.isEmpty()) {
        buffer.hardState(lastHardState);
      }
      ByteBuffer head = buffer.flip();
      long at = 0;
      while (head.hasRemaining()) {
        at += ch.write(head, at);
      }
      ch.force(true);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      FileSync.syncDirectory(dir);
      current = ch;
      currentSeq = name.seq();
      writePos = at;
      synchronized (segments) {
        segments.put(name.seq(), new Segment(name));
      }
    } catch (IOException | RuntimeException e) {
      ch.close();
      Files.deleteIfExists(tmp);
      throw new IOException("cannot create WAL segment " + target + ": " + describe(e), e);
    }
    startPreallocation();
  }

  /**
   * Prepares the next segment's file in the background (zero-filled and fsynced), as etcd's file
   * pipeline does, so a cut costs a small write, an fsync and a rename instead of stalling every
   * writer while 64 MiB of zeros go to disk.
   */
  private void startPreallocation() {
    Path tmp = dir.resolve("prealloc-" + (currentSeq + 1) + TMP_SUFFIX);
    long bytes = segmentBytes;
    nextSegmentFile =
        CompletableFuture.supplyAsync(
            () -> {
              try (FileChannel ch =
                  FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                preallocate(ch, bytes);
                ch.force(true);
                return tmp;
              } catch (IOException e) {
                try {
                  Files.deleteIfExists(tmp);
                } catch (IOException suppressed) {
                  e.addSuppressed(suppressed);
                }
                throw new UncheckedIOException(e);
              }
            },
            preallocator);
  }

  /** The preallocated next segment file, waiting for it if needed; null if none was started. */
  private Path takePreallocated() throws IOException {
    CompletableFuture<Path> f = nextSegmentFile;
    nextSegmentFile = null;
    if (f == null) {
      return null;
    }
    try {
      return f.join();
    } catch (CompletionException e) {
      Throwable c = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
      throw new IOException("cannot preallocate the next WAL segment: " + describe(c), c);
    }
  }

  /**
   * Writes zeros over the whole segment, so that later fdatasyncs never have to update the file
   * size or allocate blocks (a sparse file from setLength would make every fsync a journal commit),
   * and a full disk shows up here rather than mid-append.
   */
  private static void preallocate(FileChannel ch, long bytes) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(bytes, 1 << 20));
    long at = 0;
    while (at < bytes) {
      zeros.clear();
      if (bytes - at < zeros.capacity()) {
        zeros.limit((int) (bytes - at));
      }
      at += ch.write(zeros, at);
    }
  }

  /** Reads the entry record at a location returned by {@link #append}, checking its CRC. */
  public Entry readEntry(long location) throws IOException {
    long seq = EntryLog.seqOf(location);
    long pos = EntryLog.byteOffsetOf(location);
    FileChannel ch;
    Path file;
    synchronized (segments) {
      Segment s = segments.get(seq);
      if (s == null) {
        throw new IOException("WAL segment " + seq + " was released");
      }
      file = s.name.in(dir);
      if (s.reader == null) {
        s.reader = FileChannel.open(file, StandardOpenOption.READ);
      }
      ch = s.reader;
    }
    ByteBuffer head = ByteBuffer.allocate(Frame.HEADER_BYTES);
    readFully(ch, head, pos);
    int len = head.getInt(0);
    if (len < 0 || len > Frame.MAX_PAYLOAD || head.get(4) != RecordType.ENTRY.code) {
      throw new WalCorruptionException(file, pos, "not an entry record");
    }
    byte[] frame = new byte[Frame.HEADER_BYTES + len];
    ByteBuffer all = ByteBuffer.wrap(frame);
    readFully(ch, all, pos);
    if (Frame.validLength(frame, 0, frame.length) < 0) {
      throw new WalCorruptionException(file, pos, "entry record fails its CRC");
    }
    return RecordBuffer.decodeEntry(frame, Frame.HEADER_BYTES, len);
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      int n = ch.read(b, pos + b.position());
      if (n < 0) {
        throw new IOException("unexpected end of WAL segment");
      }
    }
  }

  /**
   * Deletes segments holding only entries at or below {@code index} (which a durable snapshot must
   * cover). The newest segment is always kept; a segment is wholly below {@code index} when the
   * next one was cut after an index <= {@code index}.
   *
   * @return how many segments were deleted
   */
  public int releaseTo(long index) throws IOException {
    int released = 0;
    synchronized (segments) {
      List<Segment> ordered = new ArrayList<>(segments.values());
      for (int i = 0; i + 1 < ordered.size(); i++) {
        Segment s = ordered.get(i);
        if (ordered.get(i + 1).name.firstIndex() - 1 > index) {
          break;
        }
        if (s.reader != null) {
          s.reader.close();
        }
        Files.deleteIfExists(s.name.in(dir));
        segments.remove(s.name.seq());
        released++;
      }
    }
    if (released > 0) {
      FileSync.syncDirectory(dir);
      LOG.info("released {} WAL segments of {} up to index {}", released, dir, index);
    }
    return released;
  }

  /** Segment file names, oldest first (for tests and tools). */
  public List<Path> segmentFiles() {
    synchronized (segments) {
      return segments.values().stream().map(s -> s.name.in(dir)).toList();
    }
  }

  /**
   * Stops accepting requests, lets the committer finish what is queued, and closes the files. Does
   * not fsync what was appended without sync.
   */
  @Override
  public void close() throws IOException {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      queued.signal();
    } finally {
      lock.unlock();
    }
    try {
      committer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    IOException first = null;
    preallocator.shutdown();
    try {
      Path unused = takePreallocated();
      if (unused != null) {
        Files.deleteIfExists(unused);
      }
    } catch (IOException e) {
      // a failed preallocation left nothing behind; the WAL itself is intact
    }
    try {
      if (current != null) {
        current.close();
      }
    } catch (IOException e) {
      first = e;
    }
    synchronized (segments) {
      for (Segment s : segments.values()) {
        if (s.reader != null) {
          try {
            s.reader.close();
          } catch (IOException e) {
            first = first == null ? e : first;
          }
        }
      }
    }
    lockChannel.close();
    if (first != null) {
      throw first;
    }
  }

  static List<SegmentName> listSegments(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .map(p -> SegmentName.parse(p.getFileName().toString()))
          .flatMap(java.util.Optional::stream)
          .sorted()
          .toList();
    }
  }

  private static void deleteTemporaries(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> p.toString().endsWith(TMP_SUFFIX)).toList()) {
        Files.delete(p);
      }
    }
  }

  /** Takes an exclusive lock so two processes never write one WAL. */
  private static FileChannel lockDir(Path dir) throws IOException {
    FileChannel ch;
    try {
      ch =
          FileChannel.open(
              dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new IOException("cannot open WAL directory " + dir + ": " + describe(e), e);
    }
    try {
      FileLock l = ch.tryLock();
      if (l == null) {
        throw new IOException("WAL " + dir + " is in use by another process");
      }
    } catch (OverlappingFileLockException e) {
      ch.close();
      throw new IOException("WAL " + dir + " is already open in this process", e);
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    return ch;
  }

  static String describe(Throwable e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  /** Unchecked wrapper for I/O errors surfacing through interfaces without IOException. */
  static UncheckedIOException unchecked(IOException e) {
    return new UncheckedIOException(e.getMessage(), e);
  }
}
