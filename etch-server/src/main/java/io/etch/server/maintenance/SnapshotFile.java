package io.etch.server.maintenance;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * etch's snapshot file: what Maintenance.Snapshot streams and {@code etchctl snapshot save} writes.
 * Not etcd's bbolt file; the same envelope etcd's tools check (a SHA-256 of everything before it in
 * the last 32 bytes, the body padded to a multiple of 512 bytes, so etcdctl 3.4's "has a checksum"
 * test, {@code size % 512 == 32}, holds). Layout, integers big-endian:
 *
 * <pre>
 *   8 bytes  magic "ETCHSNP2"
 *   int32    file count
 *   per file: int32 name length, UTF-8 name ('/'-separated, relative), int64 size
 *   the files' bytes, in the order listed
 *   zero bytes up to a multiple of 512
 *   32 bytes SHA-256 of every byte above
 * </pre>
 *
 * The files are a RocksDB checkpoint of the MVCC store (kv, meta with the consistent index and
 * compact revisions, leases, members, auth): opening them as a store gives the state at the
 * snapshot's revision. Sizes come first so the stream's {@code remaining_bytes} is exact.
 */
public final class SnapshotFile {
  static final byte[] MAGIC = "ETCHSNP2".getBytes(StandardCharsets.US_ASCII);
  static final int ALIGN = 512;
  static final int SHA_BYTES = 32;

  private SnapshotFile() {}

  /** One file of a checkpoint. */
  record Entry(String name, long size) {}

  /** A checkpoint directory as snapshot-file chunks, with its exact total length. */
  public static final class Writer implements AutoCloseable {
    private final Path dir;
    private final byte[] header;
    private final List<Entry> files;
    private final long total;
    private final MessageDigest sha = sha256();
    private final int chunkBytes;
    private int fileIndex = -1; // -1: header not sent yet
    private InputStream current;
    private long sent;
    private boolean done;

    public Writer(Path checkpointDir, int chunkBytes) throws IOException {
      this.dir = checkpointDir;
      this.chunkBytes = chunkBytes;
      this.files = list(checkpointDir);
      ByteArrayOutputStream bo = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bo);
      out.write(MAGIC);
      out.writeInt(files.size());
      long body = 0;
      for (Entry e : files) {
        byte[] n = e.name().getBytes(StandardCharsets.UTF_8);
        out.writeInt(n.length);
        out.write(n);
        out.writeLong(e.size());
        body += e.size();
      }
      out.flush();
      header = bo.toByteArray();
      long unpadded = header.length + body;
      total = roundUp(unpadded) + SHA_BYTES;
    }

    /** Total bytes of the file, checksum included. */
    public long totalBytes() {
      return total;
    }

    /** Bytes still to come after what {@link #next} returned so far. */
    public long remaining() {
      return total - sent;
    }

    public boolean hasNext() {
      return !done;
    }

    /** The next chunk (at most the chunk size); the last holds the checksum. */
    public byte[] next() throws IOException {
      ByteArrayOutputStream buf = new ByteArrayOutputStream(chunkBytes);
      if (fileIndex < 0) {
        buf.write(header);
        sha.update(header);
        fileIndex = 0;
      }
      byte[] tmp = new byte[Math.min(chunkBytes, 1 << 16)];
      while (buf.size() < chunkBytes && fileIndex < files.size()) {
        if (current == null) {
          current = Files.newInputStream(dir.resolve(files.get(fileIndex).name()));
        }
        int n = current.read(tmp, 0, Math.min(tmp.length, chunkBytes - buf.size()));
        if (n < 0) {
          current.close();
          current = null;
          fileIndex++;
          continue;
        }
        sha.update(tmp, 0, n);
        buf.write(tmp, 0, n);
      }
      if (fileIndex == files.size() && buf.size() < chunkBytes) {
        long pad = total - SHA_BYTES - (sent + buf.size());
        if (pad > 0) {
          int p = (int) Math.min(pad, chunkBytes - buf.size());
          byte[] zeros = new byte[p];
          sha.update(zeros);
          buf.write(zeros);
        }
        if (total - SHA_BYTES == sent + buf.size() && buf.size() + SHA_BYTES <= chunkBytes) {
          buf.write(sha.digest());
          done = true;
        }
      }
      byte[] chunk = buf.toByteArray();
      sent += chunk.length;
      if (done && sent != total) {
        throw new IOException(
            "checkpoint files changed while streaming: " + sent + " bytes, expected " + total);
      }
      return chunk;
    }

    @Override
    public void close() {
      if (current != null) {
        try {
          current.close();
        } catch (IOException e) {
          // abandoning the stream
        }
        current = null;
      }
    }
  }

  /**
   * Checks the checksum of {@code file} and unpacks its files into {@code target} (created; must
   * not exist), fsyncing nothing (the caller syncs what it commits).
   *
   * @throws IOException with a clear message when the file is not an etch snapshot, truncated or
   *     fails its SHA-256
   */
  public static void unpack(Path file, Path target) throws IOException {
    verify(file);
    Files.createDirectories(target);
    try (DataInputStream in =
        new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      List<Entry> files = readHeader(in, file);
      byte[] buf = new byte[1 << 16];
      for (Entry e : files) {
        Path p = target.resolve(e.name()).normalize();
        if (!p.startsWith(target)) {
          throw new IOException(file + ": bad file name " + e.name());
        }
        Files.createDirectories(p.getParent());
        try (var out = Files.newOutputStream(p)) {
          long left = e.size();
          while (left > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
              throw new EOFException(file + " is truncated");
            }
            out.write(buf, 0, n);
            left -= n;
          }
        }
      }
    }
  }

  /** Checks that {@code file} is an etch snapshot whose trailing SHA-256 matches. */
  public static void verify(Path file) throws IOException {
    long size = Files.size(file);
    if (size < MAGIC.length + SHA_BYTES || size % ALIGN != SHA_BYTES) {
      throw new IOException(file + ": not an etch snapshot (no sha256 checksum at its end)");
    }
    MessageDigest sha = sha256();
    byte[] stored = new byte[SHA_BYTES];
    try (InputStream in = Files.newInputStream(file)) {
      byte[] magic = in.readNBytes(MAGIC.length);
      if (!Arrays.equals(magic, MAGIC)) {
        throw new IOException(file + ": not an etch snapshot (bad magic)");
      }
      sha.update(magic);
      long left = size - SHA_BYTES - MAGIC.length;
      byte[] buf = new byte[1 << 16];
      while (left > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          throw new EOFException(file + " is truncated");
        }
        sha.update(buf, 0, n);
        left -= n;
      }
      if (in.readNBytes(stored, 0, SHA_BYTES) != SHA_BYTES) {
        throw new EOFException(file + " is truncated");
      }
    }
    if (!MessageDigest.isEqual(stored, sha.digest())) {
      throw new IOException(file + ": snapshot file integrity check failed (sha256 mismatch)");
    }
  }

  private static List<Entry> readHeader(DataInputStream in, Path file) throws IOException {
    byte[] magic = in.readNBytes(MAGIC.length);
    if (!Arrays.equals(magic, MAGIC)) {
      throw new IOException(file + ": not an etch snapshot (bad magic)");
    }
    int n = in.readInt();
    if (n < 0 || n > 1_000_000) {
      throw new IOException(file + ": bad file count " + n);
    }
    List<Entry> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int len = in.readInt();
      if (len <= 0 || len > 4096) {
        throw new IOException(file + ": bad file name length " + len);
      }
      String name = new String(in.readNBytes(len), StandardCharsets.UTF_8);
      out.add(new Entry(name, in.readLong()));
    }
    return out;
  }

  static List<Entry> list(Path dir) throws IOException {
    List<Entry> out = new ArrayList<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).sorted(Comparator.naturalOrder()).toList()) {
        StringBuilder name = new StringBuilder();
        for (Path part : dir.relativize(p)) {
          if (name.length() > 0) {
            name.append('/');
          }
          name.append(part);
        }
        out.add(new Entry(name.toString(), Files.size(p)));
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return out;
  }

  static long roundUp(long n) {
    return (n + ALIGN - 1) / ALIGN * ALIGN;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Deletes {@code dir} and everything under it, if it exists. */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
