package io.etch.storage.snapshot;

import io.etch.raft.SnapshotMetadata;
import io.etch.storage.FileSync;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The receiving side of a {@link SnapshotStream}: {@link #accept} the chunks in order (any
 * boundaries), then {@link #finish}. Files are written into a temporary directory of the store as
 * they arrive; {@code finish} checks the stream's CRC32C, fsyncs everything and renames the
 * snapshot into place atomically. On any error, or {@link #close} before finish, the temporary
 * directory is deleted and nothing appears in the store.
 *
 * <p>Not thread-safe: one transport stream feeds it.
 */
public final class SnapshotReceiver implements AutoCloseable {
  private static final int MAX_META = 1 << 20;
  private static final int MAX_NAME = 4096;

  private enum State {
    MAGIC,
    META_LEN,
    META,
    COUNT,
    NAME_LEN,
    NAME,
    SIZE,
    DATA,
    TRAILER,
    DONE
  }

  private final SnapshotStore store;
  private final Path tmp;
  private final Path data;
  private final CRC32C crc = new CRC32C();
  private final ByteArrayOutputStream field = new ByteArrayOutputStream();
  private final List<StoredSnapshot.FileEntry> files = new ArrayList<>();
  private State state = State.MAGIC;
  private int need = 8;
  private SnapshotMetadata meta;
  private int filesLeft;
  private String name;
  private long remaining;
  private long size;
  private FileChannel out;
  private final CRC32C fileCrc = new CRC32C();
  private boolean finished;
  private boolean closed;

  SnapshotReceiver(SnapshotStore store, Path tmp) throws IOException {
    this.store = store;
    this.tmp = tmp;
    this.data = Files.createDirectory(tmp.resolve(SnapshotStore.DATA_DIR));
  }

  /** Consumes the next chunk of the stream. */
  public void accept(byte[] chunk) throws IOException {
    if (closed) {
      throw new IOException("snapshot receiver is closed");
    }
    try {
      int p = 0;
      while (p < chunk.length) {
        if (state == State.DONE) {
          throw new IOException("snapshot stream has bytes after its checksum");
        }
        if (state == State.DATA) {
          int n = (int) Math.min(remaining, chunk.length - p);
          ByteBuffer b = ByteBuffer.wrap(chunk, p, n);
          while (b.hasRemaining()) {
            out.write(b);
          }
          crc.update(chunk, p, n);
          fileCrc.update(chunk, p, n);
          p += n;
          remaining -= n;
          if (remaining == 0) {
            endFile();
          }
          continue;
        }
        int n = Math.min(need - field.size(), chunk.length - p);
        field.write(chunk, p, n);
        if (state != State.TRAILER) {
          crc.update(chunk, p, n);
        }
        p += n;
        if (field.size() == need) {
          byte[] f = field.toByteArray();
          field.reset();
          onField(ByteBuffer.wrap(f));
        }
      }
    } catch (IOException | RuntimeException e) {
      close();
      throw e instanceof IOException io ? io : new IOException("bad snapshot stream: " + e, e);
    }
  }

  private void onField(ByteBuffer f) throws IOException {
    switch (state) {
      case MAGIC -> {
        if (f.getLong() != SnapshotStream.MAGIC) {
          throw new IOException("not a snapshot stream (bad magic)");
        }
        expect(State.META_LEN, 4);
      }
      case META_LEN -> {
        int len = f.getInt();
        if (len <= 0 || len > MAX_META) {
          throw new IOException("bad snapshot metadata length " + len);
        }
        expect(State.META, len);
      }
      case META -> {
        meta = SnapshotMetadataCodec.decode(f);
        expect(State.COUNT, 4);
      }
      case COUNT -> {
        filesLeft = f.getInt();
        if (filesLeft < 0) {
          throw new IOException("bad snapshot file count " + filesLeft);
        }
        nextFile();
      }
      case NAME_LEN -> {
        int len = f.getInt();
        if (len <= 0 || len > MAX_NAME) {
          throw new IOException("bad snapshot file name length " + len);
        }
        expect(State.NAME, len);
      }
      case NAME -> {
        name = new String(f.array(), StandardCharsets.UTF_8);
        expect(State.SIZE, 8);
      }
      case SIZE -> {
        size = f.getLong();
        if (size < 0) {
          throw new IOException("bad snapshot file size " + size);
        }
        beginFile();
      }
      case TRAILER -> {
        if (f.getInt() != (int) crc.getValue()) {
          throw new IOException("snapshot stream fails its CRC32C");
        }
        state = State.DONE;
      }
      default -> throw new IllegalStateException(state.name());
    }
  }

  private void expect(State s, int bytes) {
    state = s;
    need = bytes;
  }

  private void nextFile() {
    if (filesLeft == 0) {
      expect(State.TRAILER, 4);
    } else {
      filesLeft--;
      expect(State.NAME_LEN, 4);
    }
  }

  private void beginFile() throws IOException {
    Path target = safeResolve(name);
    Files.createDirectories(target.getParent());
    out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    fileCrc.reset();
    remaining = size;
    state = State.DATA;
    if (remaining == 0) {
      endFile();
    }
  }

  private void endFile() throws IOException {
    out.force(true);
    out.close();
    out = null;
    files.add(new StoredSnapshot.FileEntry(name, size, (int) fileCrc.getValue()));
    nextFile();
  }

  /** Refuses names that would escape the snapshot directory (absolute, "..", empty parts). */
  private Path safeResolve(String n) throws IOException {
    if (n.startsWith("/") || n.contains("\\") || n.contains("\0")) {
      throw new IOException("unsafe snapshot file name " + n);
    }
    for (String part : n.split("/", -1)) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) {
        throw new IOException("unsafe snapshot file name " + n);
      }
    }
    Path p = data.resolve(n).normalize();
    if (!p.startsWith(data)) {
      throw new IOException("unsafe snapshot file name " + n);
    }
    return p;
  }

  /**
   * Completes the install: the stream must have ended with a matching checksum. Returns the
   * snapshot, durable and in place in the store.
   */
  public StoredSnapshot finish() throws IOException {
    if (closed) {
      throw new IOException("snapshot receiver is closed");
    }
    if (state != State.DONE) {
      close();
      throw new IOException("snapshot stream ended early (in " + state + ")");
    }
    try {
      for (Path p : SnapshotStore.walk(data)) {
        if (Files.isDirectory(p)) {
          FileSync.syncDirectory(p);
        }
      }
      StoredSnapshot s = store.commit(meta, tmp, files);
      finished = true;
      closed = true;
      return s;
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** The metadata, once the stream's header has been received (null before). */
  public SnapshotMetadata metadata() {
    return meta;
  }

  /** Abandons the install (no-op after {@link #finish}), deleting what was received. */
  @Override
  public void close() throws IOException {
    if (closed && (finished || !Files.exists(tmp))) {
      return;
    }
    closed = true;
    if (out != null) {
      out.close();
      out = null;
    }
    SnapshotStore.deleteTree(tmp);
  }
}
