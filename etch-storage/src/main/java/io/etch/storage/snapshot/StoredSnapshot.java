package io.etch.storage.snapshot;

import io.etch.raft.SnapshotMetadata;
import java.nio.file.Path;
import java.util.List;

/**
 * A snapshot in a {@link SnapshotStore}: its raft metadata, its directory, and the manifest of the
 * state-machine files under {@link #dataDir()} (for the MVCC store, a RocksDB checkpoint).
 * Immutable value; the files it names are never modified once saved.
 */
public record StoredSnapshot(SnapshotMetadata metadata, Path dir, List<FileEntry> files) {

  /**
   * One file of the snapshot: path relative to the data directory ('/'-separated), size, CRC32C.
   */
  public record FileEntry(String name, long size, int crc32c) {}

  public StoredSnapshot {
    files = List.copyOf(files);
  }

  /** The state-machine files: open the MVCC store (RocksDB checkpoint) from here. */
  public Path dataDir() {
    return dir.resolve(SnapshotStore.DATA_DIR);
  }

  public long index() {
    return metadata.index();
  }

  public long term() {
    return metadata.term();
  }
}
