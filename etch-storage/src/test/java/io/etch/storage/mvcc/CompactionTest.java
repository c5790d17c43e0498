package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class CompactionTest extends MvccTestSupport {

  @Test
  void compactedRevisionIsRejectedWithEtcdError() {
    put("a", "1"); // 2
    put("a", "2"); // 3
    put("a", "3"); // 4
    compact(3);
    assertThatThrownBy(() -> getAt("a", 2))
        .isInstanceOf(EtcdException.class)
        .hasMessage("mvcc: required revision has been compacted");
  }

  @Test
  void rangeAtExactlyTheCompactRevisionSeesTheKeptVersions() {
    put("a", "1"); // 2
    put("a", "2"); // 3
    put("b", "1"); // 4
    put("a", "3"); // 5
    compact(4);
    assertThat(getAt("a", 4)).isEqualTo(kv("a", 2, 3, 2, "2"));
    assertThat(getAt("b", 4)).isEqualTo(kv("b", 4, 4, 1, "1"));
    assertThat(getAt("a", 5)).isEqualTo(kv("a", 2, 5, 3, "3"));
  }

  @Test
  void compactAtATombstoneDropsTheKeyEntirely() {
    put("a", "1"); // 2
    delete("a"); // 3
    put("b", "1"); // 4
    compact(3);
    assertThat(getAt("a", 3)).isNull();
    assertThat(get("a")).isNull();
    assertThat(store.indexedKeys()).isEqualTo(1);
    assertThat(store.events(3, 4, 100).events())
        .extracting(e -> s(e.kv().key()))
        .containsExactly("b"); // the tombstone at the compact revision is gone
    reopen();
    assertThat(store.indexedKeys()).isEqualTo(1);
    assertThat(store.currentRevision()).isEqualTo(4);
  }

  @Test
  void compactingAwayTheNewestRevisionDoesNotMoveTheRevisionBackAfterRestart() {
    put("a", "1"); // 2
    delete("a"); // 3: the newest revision, a tombstone
    compact(3);
    reopen();
    assertThat(store.currentRevision()).isEqualTo(3);
    assertThat(store.compactRevision()).isEqualTo(3);
    assertThat(put("a", "2").header().revision()).isEqualTo(4);
  }

  @Test
  void rangeAtARevisionOfADeletedKeysOlderGenerationStillReadsIt() {
    put("a", "1"); // 2, generation 1
    put("a", "2"); // 3
    delete("a"); // 4
    put("a", "x"); // 5, generation 2
    delete("a"); // 6
    put("a", "y"); // 7, generation 3
    compact(3);
    assertThat(getAt("a", 3)).isEqualTo(kv("a", 2, 3, 2, "2"));
    assertThat(getAt("a", 4)).isNull();
    assertThat(getAt("a", 5)).isEqualTo(kv("a", 5, 5, 1, "x"));
    assertThat(getAt("a", 6)).isNull();
    assertThat(get("a")).isEqualTo(kv("a", 7, 7, 1, "y"));
  }

  @Test
  void compactAtTheEmptyStoresRevisionOneIsAllowedAndSurvivesRestart() {
    compact(1);
    assertThat(store.compactRevision()).isEqualTo(1);
    assertThat(store.currentRevision()).isEqualTo(1);
    assertThat(getAt("a", 1)).isNull();
    assertThatThrownBy(() -> compact(1)).hasMessage("mvcc: required revision has been compacted");
    reopen();
    assertThat(store.compactRevision()).isEqualTo(1);
    assertThat(store.currentRevision()).isEqualTo(1);
    assertThat(put("a", "1").header().revision()).isEqualTo(2);
    assertThat(store.events(1, 2, 10).events()).hasSize(1);
    compact(2);
    assertThatThrownBy(() -> getAt("a", 1))
        .hasMessage("mvcc: required revision has been compacted");
    assertThat(getAt("a", 2)).isEqualTo(kv("a", 2, 2, 1, "1"));
  }

  @Test
  void compactOfAnAlreadyCompactedOrFutureRevisionIsRejected() {
    put("a", "1"); // 2
    put("a", "2"); // 3
    compact(2);
    assertThatThrownBy(() -> compact(2)).hasMessage("mvcc: required revision has been compacted");
    assertThatThrownBy(() -> compact(4)).hasMessage("mvcc: required revision is a future revision");
  }

  @Test
  void compactRevisionSurvivesRestart() {
    put("a", "1"); // 2
    put("a", "2"); // 3
    put("a", "3"); // 4
    compact(3);
    reopen();
    assertThat(store.compactRevision()).isEqualTo(3);
    assertThatThrownBy(() -> getAt("a", 2))
        .hasMessage("mvcc: required revision has been compacted");
    assertThat(getAt("a", 3).value()).isEqualTo(b("2"));
  }

  @Test
  void physicalCompactionRemovesDroppedRevisionsFromDiskWhenTheFutureCompletes() {
    for (int i = 0; i < 100; i++) {
      put("a", "v" + i); // revisions 2..101
    }
    CompletableFuture<Long> done = apply(a -> a.compact(101));
    assertThat(done.join()).isEqualTo(101);
    // Only the kept revision of "a" is left in history.
    assertThat(store.events(101, 101, 10).events()).hasSize(1);
    int before = store.hashKV(0).hash();
    reopen();
    assertThat(store.hashKV(0).hash()).isEqualTo(before);
    assertThat(get("a").version()).isEqualTo(100);
  }

  @Test
  void eventsBelowTheCompactRevisionAreCompacted() {
    put("a", "1"); // 2
    put("a", "2"); // 3
    put("a", "3"); // 4
    compact(3);
    assertThatThrownBy(() -> store.events(2, 4, 10))
        .hasMessage("mvcc: required revision has been compacted");
    assertThat(store.events(4, 4, 10).events().get(0).prevKv()).isEqualTo(kv("a", 2, 3, 2, "2"));
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
    int beforeCompact = store.hashKV(16).hash();
    compact(11);
    assertThat(store.hashKV(16).hash()).isNotEqualTo(beforeCompact);
    int atCompact = store.hashKV(16).hash();
    // Recompute on a copy that rebuilt its index and finished the compaction at open.
    reopen();
    assertThat(store.hashKV(16).hash()).isEqualTo(atCompact);
    assertThatThrownBy(() -> store.hashKV(6))
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
      assertThat(other.hashKV(8)).isEqualTo(store.hashKV(8));
      assertThat(other.hash()).isEqualTo(store.hash());
    } finally {
      other.close();
    }
  }
}
