package io.etch.storage.wal;

/**
 * Told how long each WAL fsync took (etcd's {@code etcd_disk_wal_fsync_duration_seconds}). Called
 * on the WAL's committer thread right after the fsync returns, before the appends it covers are
 * acknowledged: an implementation must be quick and must not block.
 */
@FunctionalInterface
public interface FsyncListener {
  FsyncListener NONE = nanos -> {};

  void fsynced(long nanos);
}
