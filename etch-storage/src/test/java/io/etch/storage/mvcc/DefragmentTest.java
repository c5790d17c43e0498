package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** sizeInUse (etcd's db_size_in_use) and the online defragment (full-range RocksDB compaction). */
class DefragmentTest extends MvccTestSupport {
  private static final int KEYS = 200;
  private static final int VALUE = 4096;

  /** Five generations of every key, incompressible values (~4 MiB per generation). */
  private void writeHistory() {
    putRandomRounds(5, KEYS, VALUE, 1);
  }

  @Test
  void defragmentReclaimsCompactedRevisionsWhileReadsGoOn() throws Exception {
    writeHistory();
    store.flush();
    long onDiskBefore = store.sizeOnDisk();
    long inUseBefore = store.sizeInUse();
    assertThat(onDiskBefore).isGreaterThan(5L * KEYS * VALUE);
    assertThat(inUseBefore).isPositive();
    long rev = store.currentRevision();
    KeyValue k7 = get("k7");
    compact(rev); // only the newest of five versions of each key is kept
    store.flush();

    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread reader =
        new Thread(
            () -> {
              try {
                while (!stop.get()) {
                  RangeResponse all = store.range(RangeRequest.range(b("k"), b("l")));
                  assertThat(all.count()).isEqualTo(KEYS);
                }
              } catch (Throwable t) {
                failure.set(t);
              }
            });
    reader.start();
    store.defragment();
    stop.set(true);
    reader.join();
    assertThat(failure.get()).isNull();

    long onDiskAfter = store.sizeOnDisk();
    // One version of each key is left of five: well under half the space.
    assertThat(onDiskAfter).isLessThan(onDiskBefore / 2).isGreaterThan((long) KEYS * VALUE);
    assertThat(store.sizeInUse()).isLessThan(inUseBefore / 2).isLessThanOrEqualTo(onDiskAfter);
    assertThat(get("k7")).isEqualTo(k7);
    assertThat(store.range(RangeRequest.range(b("k"), b("l"))).count()).isEqualTo(KEYS);
    // Still writable, and the same after a restart.
    put("k1", "small");
    reopen();
    assertThat(s(get("k1").value())).isEqualTo("small");
    assertThat(store.range(RangeRequest.range(b("k"), b("l"))).count()).isEqualTo(KEYS);
  }
}
