package io.etch.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** fsync helpers for files and directories. Stateless. */
public final class FileSync {
  private FileSync() {}

  /**
   * fsyncs a directory so that entries created, renamed or deleted in it survive a crash (POSIX
   * makes a new name durable only when its directory is synced).
   */
  public static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** fsyncs a regular file's data and metadata. */
  public static void syncFile(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
