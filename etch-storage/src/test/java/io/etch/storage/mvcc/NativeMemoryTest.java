package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** MvccStore.nativeMemory: RocksDB's own accounting, which the idle collection logs. */
class NativeMemoryTest extends MvccTestSupport {
  @Test
  void memtablesHoldWritesUntilAFlushAndTheBlockCacheFillsWithReads() {
    putRandomRounds(4, 250, 4096, 7);
    MvccStore.NativeMemory written = store.nativeMemory();
    assertThat(written.memtables()).isGreaterThan(4L * 250 * 4096);

    store.flush();
    MvccStore.NativeMemory flushed = store.nativeMemory();
    assertThat(flushed.memtables()).isLessThan(written.memtables() / 4);
    assertThat(flushed.tableReaders()).isPositive();

    long cacheBefore = flushed.blockCache();
    // Old revisions are not in the value cache: reading them goes through RocksDB's block cache.
    long first = store.currentRevision() - 3;
    for (int k = 0; k < 250; k++) {
      assertThat(getAt("k" + k, first)).isNotNull();
    }
    assertThat(store.nativeMemory().blockCache()).isGreaterThan(cacheBefore);
  }
}
