package io.etch.storage.mvcc;

/**
 * Tuning of the store. {@code blockCacheBytes}: RocksDB block cache shared by all column families.
 * {@code compactionBatchSize}: revisions deleted per RocksDB write by physical compaction, so the
 * apply thread's writes interleave with it instead of waiting behind one huge batch.
 */
public record MvccOptions(long blockCacheBytes, int compactionBatchSize) {
  public static MvccOptions defaults() {
    return new MvccOptions(256L << 20, 10_000);
  }
}
