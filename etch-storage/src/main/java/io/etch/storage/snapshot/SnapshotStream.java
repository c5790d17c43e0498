package io.etch.storage.snapshot;

import io.etch.raft.SnapshotMetadata;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.zip.CRC32C;

/**
 * A stored snapshot as a sequence of byte chunks (each at most the chunk size, the last possibly
 * shorter) for the peer transport. The bytes form one stream:
 *
 * <pre>
 *   int64 magic "ETCHSNP1"
 *   int32 length, bytes  raft metadata ({@link SnapshotMetadataCodec})
 *   int32 file count
 *   per file: int32 name length, UTF-8 name ('/'-separated, relative), int64 size, size bytes
 *   int32 CRC32C of every byte above
 * </pre>
 *
 * Files are read lazily, one open at a time. Not thread-safe: one sender drains it. Close it if
 * abandoned before the end. I/O errors surface as {@link UncheckedIOException} from {@link #next}.
 */
public final class SnapshotStream implements Iterator<byte[]>, AutoCloseable {
  static final long MAGIC = 0x45544348534e5031L; // "ETCHSNP1"

  /** Default chunk size: 1 MiB, well under gRPC's default 4 MiB message limit. */
  public static final int DEFAULT_CHUNK_BYTES = 1 << 20;

  private final int chunkBytes;
  private final Iterator<Object> parts; // byte[] headers and FileEntry contents, in stream order
  private final StoredSnapshot snapshot;
  private final CRC32C crc = new CRC32C();
  private InputStream current;
  private long expected; // bytes the current file must yield, -1 for a header
  private long read;
  private byte[] trailer;
  private int trailerPos;
  private boolean done;

  SnapshotStream(StoredSnapshot snapshot, int chunkBytes) {
    if (chunkBytes < 16) {
      throw new IllegalArgumentException("chunk size too small: " + chunkBytes);
    }
    this.snapshot = snapshot;
    this.chunkBytes = chunkBytes;
    List<Object> p = new ArrayList<>();
    p.add(header(snapshot.metadata(), snapshot.files().size()));
    for (StoredSnapshot.FileEntry f : snapshot.files()) {
      byte[] name = f.name().getBytes(StandardCharsets.UTF_8);
      p.add(
          ByteBuffer.allocate(12 + name.length)
              .putInt(name.length)
              .put(name)
              .putLong(f.size())
              .array());
      p.add(f);
    }
    this.parts = p.iterator();
  }

  private static byte[] header(SnapshotMetadata meta, int files) {
    byte[] m = SnapshotMetadataCodec.encode(meta);
    return ByteBuffer.allocate(8 + 4 + m.length + 4)
        .putLong(MAGIC)
        .putInt(m.length)
        .put(m)
        .putInt(files)
        .array();
  }

  @Override
  public boolean hasNext() {
    return !done;
  }

  @Override
  public byte[] next() {
    if (done) {
      throw new NoSuchElementException();
    }
    byte[] buf = new byte[chunkBytes];
    int filled = 0;
    try {
      while (filled < chunkBytes && !done) {
        if (trailer != null) {
          int n = Math.min(chunkBytes - filled, trailer.length - trailerPos);
          System.arraycopy(trailer, trailerPos, buf, filled, n);
          filled += n;
          trailerPos += n;
          done = trailerPos == trailer.length;
          continue;
        }
        if (current == null && !advance()) {
          trailer = ByteBuffer.allocate(4).putInt((int) crc.getValue()).array();
          continue;
        }
        int n = current.read(buf, filled, chunkBytes - filled);
        if (n < 0) {
          finishPart();
          continue;
        }
        crc.update(buf, filled, n);
        filled += n;
        read += n;
      }
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("cannot stream snapshot " + snapshot.dir(), e);
    }
    return filled == buf.length ? buf : Arrays.copyOf(buf, filled);
  }

  private boolean advance() throws IOException {
    if (!parts.hasNext()) {
      return false;
    }
    Object part = parts.next();
    read = 0;
    if (part instanceof byte[] b) {
      current = new ByteArrayInputStream(b);
      expected = -1;
    } else {
      StoredSnapshot.FileEntry f = (StoredSnapshot.FileEntry) part;
      current = Files.newInputStream(snapshot.dataDir().resolve(f.name()));
      expected = f.size();
    }
    return true;
  }

  private void finishPart() throws IOException {
    current.close();
    current = null;
    if (expected >= 0 && read != expected) {
      throw new IOException(
          "snapshot file changed while streaming: read " + read + " bytes, expected " + expected);
    }
  }

  @Override
  public void close() {
    if (current != null) {
      try {
        current.close();
      } catch (IOException e) {
        // nothing left to do with a stream we are abandoning
      }
      current = null;
    }
    done = true;
  }
}
