package io.etch.storage.snapshot;

import io.etch.raft.SnapshotMetadata;
import io.etch.storage.FileSync;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raft snapshots on disk. Each is a directory {@code snap-<index>-<term>} (16 hex digits each, so
 * names sort by index) holding {@code data/} (the state-machine files, e.g. a RocksDB checkpoint)
 * and {@code meta}: the raft metadata, a manifest of every data file with its size and CRC32C, and
 * a CRC32C of the whole meta file.
 *
 * <p>A snapshot appears atomically: it is assembled under a temporary name, every file and
 * directory is fsynced, then it is renamed into place and the store directory fsynced. Temporary
 * directories left by a crash are deleted when the store is opened.
 *
 * <p>Thread-safety: saving, receiving and purging are meant for one thread (the raft loop or the
 * snapshot worker it starts); reading stored snapshots ({@link #stream}) may run concurrently with
 * them, but {@link #purge} must not delete a snapshot being streamed (the caller keeps enough).
 */
public final class SnapshotStore {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotStore.class);
  static final String DATA_DIR = "data";
  static final String META_FILE = "meta";
  static final String PREFIX = "snap-";
  static final String TMP_PREFIX = ".tmp-";
  private static final long META_MAGIC = 0x4554434853534d31L; // "ETCHSSM1"

  private final Path root;

  /** Opens (creating if needed) the store in {@code root}, removing leftovers of a crash. */
  public SnapshotStore(Path root) throws IOException {
    this.root = root;
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw new IOException("cannot create snapshot directory " + root + ": " + e, e);
    }
    try (Stream<Path> s = Files.list(root)) {
      for (Path p : s.filter(p -> p.getFileName().toString().startsWith(TMP_PREFIX)).toList()) {
        deleteTree(p);
      }
    }
  }

  public Path root() {
    return root;
  }

  /**
   * A new empty directory inside the store, on the same file system, where a state-machine snapshot
   * (e.g. {@code MvccStore.checkpoint(dir)}) can be written before {@link #save} moves it in
   * without copying. Deleted at the next open if never saved.
   */
  public Path newStagingDir() throws IOException {
    return Files.createDirectory(root.resolve(TMP_PREFIX + UUID.randomUUID()));
  }

  /**
   * Saves the files under {@code source} (moved, or copied if on another file system) as the
   * snapshot for {@code meta}, durably. On return the snapshot survives a crash.
   */
  public StoredSnapshot save(SnapshotMetadata meta, Path source) throws IOException {
    Path tmp = newStagingDir();
    try {
      Path data = tmp.resolve(DATA_DIR);
      moveOrCopy(source, data);
      List<StoredSnapshot.FileEntry> manifest = syncAndDescribe(data);
      return commit(meta, tmp, manifest);
    } catch (IOException | RuntimeException e) {
      deleteTree(tmp);
      throw e;
    }
  }

  /** Writes meta, fsyncs and renames a fully written temporary snapshot directory into place. */
  StoredSnapshot commit(SnapshotMetadata meta, Path tmp, List<StoredSnapshot.FileEntry> manifest)
      throws IOException {
    Path target = root.resolve(dirName(meta));
    if (Files.exists(target)) {
      throw new IOException("snapshot " + target + " already exists");
    }
    Path metaFile = tmp.resolve(META_FILE);
    Files.write(metaFile, encodeMeta(meta, manifest));
    FileSync.syncFile(metaFile);
    FileSync.syncDirectory(tmp);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    FileSync.syncDirectory(root);
    LOG.info(
        "saved snapshot {} (index {}, term {}, {} files)",
        target,
        meta.index(),
        meta.term(),
        manifest.size());
    return new StoredSnapshot(meta, target, manifest);
  }

  static String dirName(SnapshotMetadata meta) {
    return String.format("%s%016x-%016x", PREFIX, meta.index(), meta.term());
  }

  /**
   * The newest snapshot whose meta and every data file check out (sizes and CRC32C), or empty.
   * Damaged newer snapshots are skipped with a warning, so an older valid one is used.
   */
  public Optional<StoredSnapshot> loadNewest() throws IOException {
    for (Path dir : listDirs()) {
      try {
        StoredSnapshot s = read(dir);
        verify(s);
        return Optional.of(s);
      } catch (IOException | IllegalArgumentException e) {
        LOG.warn("skipping damaged snapshot {}: {}", dir, e.getMessage());
      }
    }
    return Optional.empty();
  }

  /** Every snapshot whose meta file is readable, newest first (data files not checked). */
  public List<StoredSnapshot> list() throws IOException {
    List<StoredSnapshot> out = new ArrayList<>();
    for (Path dir : listDirs()) {
      try {
        out.add(read(dir));
      } catch (IOException | IllegalArgumentException e) {
        LOG.warn("unreadable snapshot {}: {}", dir, e.getMessage());
      }
    }
    return out;
  }

  /** Deletes all but the newest {@code keep} snapshot directories. */
  public void purge(int keep) throws IOException {
    List<Path> dirs = listDirs();
    for (int i = keep; i < dirs.size(); i++) {
      deleteTree(dirs.get(i));
    }
    if (dirs.size() > keep) {
      FileSync.syncDirectory(root);
    }
  }

  /**
   * Checks every data file of {@code s} against its manifest.
   *
   * @throws IOException naming the first file that is missing, of the wrong size or checksum
   */
  public static void verify(StoredSnapshot s) throws IOException {
    for (StoredSnapshot.FileEntry f : s.files()) {
      Path p = s.dataDir().resolve(f.name());
      if (!Files.isRegularFile(p)) {
        throw new IOException("snapshot file " + p + " is missing");
      }
      if (Files.size(p) != f.size()) {
        throw new IOException(
            "snapshot file " + p + " is " + Files.size(p) + " bytes, expected " + f.size());
      }
      if (crcOf(p) != f.crc32c()) {
        throw new IOException("snapshot file " + p + " fails its CRC32C");
      }
    }
  }

  /**
   * Streams {@code s} as chunks of at most {@code chunkBytes} for a follower to {@link #receive}.
   */
  public SnapshotStream stream(StoredSnapshot s, int chunkBytes) {
    return new SnapshotStream(s, chunkBytes);
  }

  /** Receives a streamed snapshot into this store; see {@link SnapshotReceiver}. */
  public SnapshotReceiver receive() throws IOException {
    return new SnapshotReceiver(this, newStagingDir());
  }

  private List<Path> listDirs() throws IOException {
    try (Stream<Path> s = Files.list(root)) {
      return s.filter(p -> p.getFileName().toString().startsWith(PREFIX) && Files.isDirectory(p))
          .sorted(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed())
          .toList();
    }
  }

  private static StoredSnapshot read(Path dir) throws IOException {
    byte[] bytes = Files.readAllBytes(dir.resolve(META_FILE));
    if (bytes.length < 12) {
      throw new IOException("meta file of " + dir + " is truncated");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    if ((int) crc.getValue() != in.getInt(bytes.length - 4)) {
      throw new IOException("meta file of " + dir + " fails its CRC32C");
    }
    in.limit(bytes.length - 4);
    if (in.getLong() != META_MAGIC) {
      throw new IOException("meta file of " + dir + " has a bad magic number");
    }
    SnapshotMetadata meta = SnapshotMetadataCodec.decode(in);
    int n = in.getInt();
    List<StoredSnapshot.FileEntry> files = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      byte[] name = new byte[in.getInt()];
      in.get(name);
      files.add(
          new StoredSnapshot.FileEntry(
              new String(name, StandardCharsets.UTF_8), in.getLong(), in.getInt()));
    }
    return new StoredSnapshot(meta, dir, files);
  }

  static byte[] encodeMeta(SnapshotMetadata meta, List<StoredSnapshot.FileEntry> files) {
    int size = 8 + SnapshotMetadataCodec.encodedSize(meta) + 4 + 4;
    for (StoredSnapshot.FileEntry f : files) {
      size += 4 + f.name().getBytes(StandardCharsets.UTF_8).length + 8 + 4;
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    out.putLong(META_MAGIC);
    SnapshotMetadataCodec.encode(meta, out);
    out.putInt(files.size());
    for (StoredSnapshot.FileEntry f : files) {
      byte[] name = f.name().getBytes(StandardCharsets.UTF_8);
      out.putInt(name.length).put(name).putLong(f.size()).putInt(f.crc32c());
    }
    CRC32C crc = new CRC32C();
    crc.update(out.array(), 0, out.position());
    out.putInt((int) crc.getValue());
    return out.array();
  }

  /** fsyncs every file and directory under {@code data} and returns the manifest, sorted. */
  private static List<StoredSnapshot.FileEntry> syncAndDescribe(Path data) throws IOException {
    List<StoredSnapshot.FileEntry> out = new ArrayList<>();
    for (Path p : walk(data)) {
      if (Files.isDirectory(p)) {
        FileSync.syncDirectory(p);
      } else {
        FileSync.syncFile(p);
        out.add(new StoredSnapshot.FileEntry(relativeName(data, p), Files.size(p), crcOf(p)));
      }
    }
    return out;
  }

  /** Every path under {@code dir} (itself included), in a stable order: sorted by relative name. */
  static List<Path> walk(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.sorted(Comparator.comparing(p -> relativeName(dir, p))).toList();
    }
  }

  static String relativeName(Path base, Path p) {
    StringBuilder b = new StringBuilder();
    for (Path part : base.relativize(p)) {
      if (b.length() > 0) {
        b.append('/');
      }
      b.append(part);
    }
    return b.toString();
  }

  static int crcOf(Path p) throws IOException {
    CRC32C crc = new CRC32C();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(p)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        crc.update(buf, 0, n);
      }
    }
    return (int) crc.getValue();
  }

  private static void moveOrCopy(Path source, Path target) throws IOException {
    if (!Files.isDirectory(source)) {
      throw new IOException("snapshot source " + source + " is not a directory");
    }
    try {
      Files.move(source, target);
    } catch (DirectoryNotEmptyException e) {
      // Another file system: a non-empty directory cannot be moved, so copy it.
      for (Path p : walk(source)) {
        Path t = target.resolve(source.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try {
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              Files.delete(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
              Files.delete(d);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
