package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class CompactionTest extends MvccTestSupport {

  @Test
  void compactedRevisionIsRejectedWithEtcdError() {
    put("a", "1"); // 1
    put("a", "2"); // 2
    put("a", "3"); // 3
    compact(2);
    assertThatThrownBy(() -> getAt("a", 1))
        .isInstanceOf(EtcdException.class)
        .hasMessage("mvcc: required revision has been compacted");
  }

  @Test
  void rangeAtExactlyTheCompactRevisionSeesTheKeptVersions() {
    put("a", "1"); // 1
    put("a", "2"); // 2
    put("b", "1"); // 3
    put("a", "3"); // 4
    compact(3);
    assertThat(getAt("a", 3)).isEqualTo(kv("a", 1, 2, 2, "2"));
    assertThat(getAt("b", 3)).isEqualTo(kv("b", 3, 3, 1, "1"));
    assertThat(getAt("a", 4)).isEqualTo(kv("a", 1, 4, 3, "3"));
  }

  @Test
  void compactAtATombstoneDropsTheKeyEntirely() {
    put("a", "1"); // 1
    delete("a"); // 2
    put("b", "1"); // 3
    compact(2);
    assertThat(getAt("a", 2)).isNull();
    assertThat(get("a")).isNull();
    assertThat(store.indexedKeys()).isEqualTo(1);
    assertThat(store.events(2, 3, 100).events())
        .extracting(e -> s(e.kv().key()))
        .containsExactly("b"); // the tombstone at the compact revision is gone
    reopen();
    assertThat(store.indexedKeys()).isEqualTo(1);
    assertThat(store.currentRevision()).isEqualTo(3);
  }

  @Test
  void compactingAwayTheNewestRevisionDoesNotMoveTheRevisionBackAfterRestart() {
    put("a", "1"); // 1
    delete("a"); // 2: the newest revision, a tombstone
    compact(2);
    reopen();
    assertThat(store.currentRevision()).isEqualTo(2);
    assertThat(store.compactRevision()).isEqualTo(2);
    assertThat(put("a", "2").header().revision()).isEqualTo(3);
  }

  @Test
  void rangeAtARevisionOfADeletedKeysOlderGenerationStillReadsIt() {
    put("a", "1"); // 1, generation 1
    put("a", "2"); // 2
    delete("a"); // 3
    put("a", "x"); // 4, generation 2
    delete("a"); // 5
    put("a", "y"); // 6, generation 3
    compact(2);
    assertThat(getAt("a", 2)).isEqualTo(kv("a", 1, 2, 2, "2"));
    assertThat(getAt("a", 3)).isNull();
    assertThat(getAt("a", 4)).isEqualTo(kv("a", 4, 4, 1, "x"));
    assertThat(getAt("a", 5)).isNull();
    assertThat(get("a")).isEqualTo(kv("a", 6, 6, 1, "y"));
  }

  @Test
  void compactOfAnAlreadyCompactedOrFutureRevisionIsRejected() {
    put("a", "1");
    put("a", "2");
    compact(1);
    assertThatThrownBy(() -> compact(1)).hasMessage("mvcc: required revision has been compacted");
    assertThatThrownBy(() -> compact(3)).hasMessage("mvcc: required revision is a future revision");
  }

  @Test
  void compactRevisionSurvivesRestart() {
    put("a", "1");
    put("a", "2");
    put("a", "3");
    compact(2);
    reopen();
    assertThat(store.compactRevision()).isEqualTo(2);
    assertThatThrownBy(() -> getAt("a", 1))
        .hasMessage("mvcc: required revision has been compacted");
    assertThat(getAt("a", 2).value()).isEqualTo(b("2"));
  }

  @Test
  void physicalCompactionRemovesDroppedRevisionsFromDiskWhenTheFutureCompletes() {
    for (int i = 0; i < 100; i++) {
      put("a", "v" + i);
    }
    CompletableFuture<Long> done = apply(a -> a.compact(100));
    assertThat(done.join()).isEqualTo(100);
    // Only the kept revision of "a" is left in history.
    assertThat(store.events(100, 100, 10).events()).hasSize(1);
    int before = store.hashKV(0).hash();
    reopen();
    assertThat(store.hashKV(0).hash()).isEqualTo(before);
    assertThat(get("a").version()).isEqualTo(100);
  }

  @Test
  void eventsBelowTheCompactRevisionAreCompacted() {
    put("a", "1");
    put("a", "2");
    put("a", "3");
    compact(2);
    assertThatThrownBy(() -> store.events(1, 3, 10))
        .hasMessage("mvcc: required revision has been compacted");
    assertThat(store.events(3, 3, 10).events().get(0).prevKv()).isEqualTo(kv("a", 1, 2, 2, "2"));
  }

  @Test
  void hashKvIsTheSameWhetherOrNotPhysicalCompactionHasRun() {
    // Two stores with the same history; one compacts, the other only reads its hash.
    for (int i = 0; i < 20; i++) {
      put("k" + (i % 3), "v" + i);
      if (i % 4 == 0) {
        delete("k" + (i % 3));
      }
    }
    int beforeCompact = store.hashKV(15).hash();
    compact(10);
    assertThat(store.hashKV(15).hash()).isNotEqualTo(beforeCompact);
    int atCompact = store.hashKV(15).hash();
    // Recompute on a copy that rebuilt its index and finished the compaction at open.
    reopen();
    assertThat(store.hashKV(15).hash()).isEqualTo(atCompact);
    assertThatThrownBy(() -> store.hashKV(5))
        .hasMessage("mvcc: required revision has been compacted");
  }

  @Test
  void sameHistoryGivesTheSameHashKvInTwoStores() {
    MvccStore other = MvccStore.open(tmp.resolve("other"));
    try {
      for (MvccStore st : List.of(store, other)) {
        for (int i = 0; i < 10; i++) {
          try (ApplyBatch batch = st.newBatch()) {
            batch.put(PutRequest.of(b("k" + i % 4), b("v" + i)));
            batch.commit();
          }
        }
      }
      assertThat(other.hashKV(7)).isEqualTo(store.hashKV(7));
      assertThat(other.hash()).isEqualTo(store.hash());
    } finally {
      other.close();
    }
  }
}
