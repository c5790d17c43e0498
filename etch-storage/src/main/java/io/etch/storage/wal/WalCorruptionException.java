package io.etch.storage.wal;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The WAL holds damage recovery must not repair: a bad record before the tail of the log, a missing
 * segment, or entries that do not follow each other. The node must stop; nothing is truncated.
 */
public final class WalCorruptionException extends IOException {
  private final Path file;
  private final long offset;

  public WalCorruptionException(Path file, long offset, String detail) {
    super("WAL corruption in " + file + " at byte offset " + offset + ": " + detail);
    this.file = file;
    this.offset = offset;
  }

  /** The segment file holding the damage. */
  public Path file() {
    return file;
  }

  /** Byte offset of the first damaged record in {@link #file()}. */
  public long offset() {
    return offset;
  }
}
