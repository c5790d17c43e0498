package io.etch.storage.mvcc;

/**
 * Tuning of the store. {@code blockCacheBytes}: RocksDB block cache shared by all column families.
 * {@code compactionBatchSize}: revisions deleted per RocksDB write by physical compaction, so the
 * apply thread's writes interleave with it instead of waiting behind one huge batch. {@code
 * eventPrevKv}: whether the events of a commit carry the previous version of each changed key; it
 * costs one read per overwriting put on the apply thread, so a server with no prev_kv watcher may
 * turn it off and fetch prev_kv on demand ({@link MvccStore#range} at revision - 1), as etcd does.
 * {@code valueCacheBytes}: heap budget for caching each key's latest version next to its index
 * entry, so current-revision reads skip RocksDB; filled by writes and by reads, never evicted (a
 * key's entry is replaced by its next write and dropped by its delete). {@code kvWriteBufferBytes}:
 * RocksDB memtable size of the revisions column family: native memory held until a flush, against
 * fewer, larger flushes.
 */
public record MvccOptions(
    long blockCacheBytes,
    int compactionBatchSize,
    boolean eventPrevKv,
    long valueCacheBytes,
    long kvWriteBufferBytes) {
  public static MvccOptions defaults() {
    return new MvccOptions(512L << 20, 10_000, true, 256L << 20, 64L << 20);
  }

  public MvccOptions withEventPrevKv(boolean eventPrevKv) {
    return new MvccOptions(
        blockCacheBytes, compactionBatchSize, eventPrevKv, valueCacheBytes, kvWriteBufferBytes);
  }

  /** Heap budget for the latest versions of keys kept in the index (0 turns the cache off). */
  public MvccOptions withValueCacheBytes(long valueCacheBytes) {
    return new MvccOptions(
        blockCacheBytes, compactionBatchSize, eventPrevKv, valueCacheBytes, kvWriteBufferBytes);
  }

  /** Size of RocksDB's block cache (native memory, filled by reads that miss the value cache). */
  public MvccOptions withBlockCacheBytes(long blockCacheBytes) {
    return new MvccOptions(
        blockCacheBytes, compactionBatchSize, eventPrevKv, valueCacheBytes, kvWriteBufferBytes);
  }

  /** Memtable size of the revisions column family. */
  public MvccOptions withKvWriteBufferBytes(long kvWriteBufferBytes) {
    return new MvccOptions(
        blockCacheBytes, compactionBatchSize, eventPrevKv, valueCacheBytes, kvWriteBufferBytes);
  }
}
