package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.storage.mvcc.RangeRequest.SortOrder;
import io.etch.storage.mvcc.RangeRequest.SortTarget;
import java.util.List;
import org.junit.jupiter.api.Test;

class RevisionAndRangeTest extends MvccTestSupport {

  @Test
  void eachWriteGetsTheNextRevisionAndVersionCountsPutsSinceCreation() {
    // An empty store is at revision 1, as etcd's: the first write gets revision 2.
    assertThat(store.currentRevision()).isEqualTo(1);
    assertThat(put("a", "1").header().revision()).isEqualTo(2);
    assertThat(put("b", "1").header().revision()).isEqualTo(3);
    assertThat(put("a", "2").header().revision()).isEqualTo(4);
    assertThat(get("a")).isEqualTo(kv("a", 2, 4, 2, "2"));
    assertThat(get("b")).isEqualTo(kv("b", 3, 3, 1, "1"));
  }

  @Test
  void emptyStoreIsAtRevisionOneAndServesReadsEventsAndHashAtIt() {
    assertThat(store.currentRevision()).isEqualTo(1);
    RangeResponse r = store.range(RangeRequest.range(b("a"), new byte[] {0}).withRevision(1));
    assertThat(r.kvs()).isEmpty();
    assertThat(r.count()).isZero();
    assertThat(r.header().revision()).isEqualTo(1);
    assertThatThrownBy(() -> store.range(RangeRequest.of(b("a")).withRevision(2)))
        .hasMessage("mvcc: required revision is a future revision");
    EventPage page = store.events(1, 1, 10);
    assertThat(page.events()).isEmpty();
    assertThat(page.nextRevision()).isEqualTo(2);
    assertThat(store.hashKV(1)).isEqualTo(store.hashKV(0));
    assertThat(store.hashKV(1).header().revision()).isEqualTo(1);
    assertThatThrownBy(() -> store.hashKV(2))
        .hasMessage("mvcc: required revision is a future revision");
    reopen();
    assertThat(store.currentRevision()).isEqualTo(1);
    assertThat(put("a", "1").header().revision()).isEqualTo(2);
    assertThat(store.events(1, 2, 10).events())
        .containsExactly(new Event(Event.EventType.PUT, kv("a", 2, 2, 1, "1"), null));
  }

  @Test
  void deleteEndsTheGenerationAndRecreateStartsVersionAtOne() {
    put("a", "1");
    put("a", "2");
    assertThat(delete("a").deleted()).isEqualTo(1);
    assertThat(get("a")).isNull();
    put("a", "3");
    assertThat(get("a")).isEqualTo(kv("a", 5, 5, 1, "3"));
  }

  @Test
  void deleteOfMissingKeyDoesNotAdvanceTheRevision() {
    put("a", "1");
    DeleteRangeResponse r = delete("zzz");
    assertThat(r.deleted()).isZero();
    assertThat(r.header().revision()).isEqualTo(2);
    assertThat(store.currentRevision()).isEqualTo(2);
  }

  @Test
  void changesOfOneTxnShareARevisionWithIncreasingSubs() {
    put("x", "0");
    TxnResponse r =
        txn(
            new TxnRequest(
                List.of(),
                List.of(
                    RequestOp.put(PutRequest.of(b("a"), b("1"))),
                    RequestOp.put(PutRequest.of(b("b"), b("1"))),
                    RequestOp.deleteRange(DeleteRangeRequest.of(b("x")))),
                List.of()));
    assertThat(r.header().revision()).isEqualTo(3);
    assertThat(get("a").modRevision()).isEqualTo(3);
    assertThat(get("b").modRevision()).isEqualTo(3);
    EventPage page = store.events(3, 3, 100);
    assertThat(page.events())
        .extracting(e -> e.type() + ":" + s(e.kv().key()))
        .containsExactly("PUT:a", "PUT:b", "DELETE:x");
  }

  @Test
  void emptyRangeEndReadsTheSingleKey() {
    put("a", "1");
    put("ab", "1");
    assertThat(keys(store.range(RangeRequest.of(b("a"))))).containsExactly("a");
  }

  @Test
  void rangeEndIsExclusiveAndKeysComeInUnsignedByteOrder() {
    for (String k : List.of("a", "b", "c", "d")) {
      put(k, "v");
    }
    put("\u00e9", "v"); // UTF-8 0xC3 0xA9: above every ASCII key unsigned
    assertThat(keys(store.range(RangeRequest.range(b("b"), b("d"))))).containsExactly("b", "c");
    assertThat(keys(store.range(RangeRequest.range(b("c"), new byte[] {0}))))
        .containsExactly("c", "d", "\u00e9");
  }

  @Test
  void rangeEndZeroByteWithKeyZeroByteReadsEveryKey() {
    put("a", "1");
    put("z", "1");
    RangeResponse r = store.range(RangeRequest.range(new byte[] {0}, new byte[] {0}));
    assertThat(keys(r)).containsExactly("a", "z");
    assertThat(r.count()).isEqualTo(2);
  }

  @Test
  void rangeEndBelowKeyIsAnEmptyRangeNotAnError() {
    put("a", "1");
    put("b", "1");
    RangeResponse r = store.range(RangeRequest.range(b("b"), b("a")));
    assertThat(r.kvs()).isEmpty();
    assertThat(r.count()).isZero();
  }

  @Test
  void emptyKeyIsRejectedWithEtcdError() {
    assertThatThrownBy(() -> store.range(RangeRequest.of(new byte[0])))
        .isInstanceOf(EtcdException.class)
        .hasMessage("etcdserver: key is not provided");
    assertThatThrownBy(() -> put("", "v")).hasMessage("etcdserver: key is not provided");
    assertThat(store.currentRevision()).isEqualTo(1);
  }

  @Test
  void limitCutsTheResultAndSetsMoreWhileCountIsTheWholeRange() {
    for (String k : List.of("a", "b", "c", "d")) {
      put(k, "v");
    }
    RangeResponse r = store.range(RangeRequest.range(b("a"), b("z")).withLimit(2));
    assertThat(keys(r)).containsExactly("a", "b");
    assertThat(r.more()).isTrue();
    assertThat(r.count()).isEqualTo(4);
    RangeResponse exact = store.range(RangeRequest.range(b("a"), b("z")).withLimit(4));
    assertThat(exact.more()).isFalse();
    assertThat(exact.kvs()).hasSize(4);
  }

  @Test
  void countOnlyReturnsNoKeyValues() {
    put("a", "1");
    put("b", "1");
    RangeResponse r = store.range(RangeRequest.range(b("a"), b("z")).withCountOnly(true));
    assertThat(r.kvs()).isEmpty();
    assertThat(r.count()).isEqualTo(2);
    assertThat(r.more()).isFalse();
  }

  @Test
  void keysOnlyDropsValuesButKeepsRevisions() {
    put("a", "1");
    KeyValue kv = store.range(RangeRequest.of(b("a")).withKeysOnly(true)).kvs().get(0);
    assertThat(kv.value()).isEmpty();
    assertThat(kv.modRevision()).isEqualTo(2);
  }

  @Test
  void sortByEveryTargetInBothOrders() {
    put("a", "3"); // rev 2
    put("b", "1"); // rev 3
    put("c", "2"); // rev 4
    put("a", "3"); // rev 5: a version 2, mod 5
    RangeRequest all = RangeRequest.range(b("a"), b("z"));
    assertThat(keys(store.range(all.withSort(SortTarget.KEY, SortOrder.DESCEND))))
        .containsExactly("c", "b", "a");
    assertThat(keys(store.range(all.withSort(SortTarget.VALUE, SortOrder.ASCEND))))
        .containsExactly("b", "c", "a");
    assertThat(keys(store.range(all.withSort(SortTarget.MOD, SortOrder.DESCEND))))
        .containsExactly("a", "c", "b");
    assertThat(keys(store.range(all.withSort(SortTarget.CREATE, SortOrder.DESCEND))))
        .containsExactly("c", "b", "a");
    assertThat(keys(store.range(all.withSort(SortTarget.VERSION, SortOrder.DESCEND))))
        .containsExactly("a", "b", "c"); // ties (b, c) keep key order
    // A target other than KEY with order NONE sorts ascending, as etcd.
    assertThat(keys(store.range(all.withSort(SortTarget.MOD, SortOrder.NONE))))
        .containsExactly("b", "c", "a");
  }

  @Test
  void sortedRangeWithLimitSortsEverythingBeforeCutting() {
    put("a", "1");
    put("b", "1");
    put("c", "1");
    RangeResponse r =
        store.range(
            RangeRequest.range(b("a"), b("z"))
                .withSort(SortTarget.KEY, SortOrder.DESCEND)
                .withLimit(2));
    assertThat(keys(r)).containsExactly("c", "b");
    assertThat(r.more()).isTrue();
    assertThat(r.count()).isEqualTo(3);
  }

  @Test
  void modAndCreateRevisionFiltersApplyBeforeLimitButNotToCount() {
    put("a", "1"); // 2
    put("b", "1"); // 3
    put("c", "1"); // 4
    put("a", "2"); // 5
    RangeRequest all = RangeRequest.range(b("a"), b("z"));
    RangeResponse minMod = store.range(all.withModRevisions(4, 0));
    assertThat(keys(minMod)).containsExactly("a", "c");
    assertThat(minMod.count()).isEqualTo(3);
    assertThat(keys(store.range(all.withModRevisions(0, 3)))).containsExactly("b");
    assertThat(keys(store.range(all.withCreateRevisions(3, 0)))).containsExactly("b", "c");
    assertThat(keys(store.range(all.withCreateRevisions(0, 2)))).containsExactly("a");
    RangeResponse limited = store.range(all.withModRevisions(3, 0).withLimit(1));
    assertThat(keys(limited)).containsExactly("a");
    assertThat(limited.more()).isTrue();
    assertThat(limited.count()).isEqualTo(3);
  }

  @Test
  void historyReadSeesTheKeyAsItWasAtThatRevision() {
    put("a", "1"); // 2
    put("a", "2"); // 3
    delete("a"); // 4
    put("a", "3"); // 5
    assertThat(getAt("a", 1)).isNull(); // the empty store's revision
    assertThat(getAt("a", 2)).isEqualTo(kv("a", 2, 2, 1, "1"));
    assertThat(getAt("a", 3)).isEqualTo(kv("a", 2, 3, 2, "2"));
    assertThat(getAt("a", 4)).isNull();
    assertThat(getAt("a", 5)).isEqualTo(kv("a", 5, 5, 1, "3"));
    RangeResponse r = store.range(RangeRequest.of(b("a")).withRevision(2));
    assertThat(r.header().revision()).isEqualTo(5); // header: the current revision, as etcd
  }

  @Test
  void futureRevisionIsRejectedWithEtcdError() {
    put("a", "1");
    assertThatThrownBy(() -> store.range(RangeRequest.of(b("a")).withRevision(3)))
        .isInstanceOf(EtcdException.class)
        .hasMessage("mvcc: required revision is a future revision")
        .extracting(e -> ((EtcdException) e).error().grpcCode())
        .isEqualTo("OUT_OF_RANGE");
  }

  @Test
  void readersDoNotSeeABatchBeforeItCommits() {
    put("a", "1");
    try (ApplyBatch batch = store.newBatch()) {
      batch.put(PutRequest.of(b("a"), b("2")));
      batch.put(PutRequest.of(b("b"), b("1")));
      assertThat(get("a").value()).isEqualTo(b("1"));
      assertThat(get("b")).isNull();
      assertThat(store.currentRevision()).isEqualTo(2);
      // ...while the batch itself sees its own writes.
      assertThat(batch.range(RangeRequest.of(b("b"))).kvs()).hasSize(1);
      batch.commit();
    }
    assertThat(get("a").value()).isEqualTo(b("2"));
    assertThat(store.currentRevision()).isEqualTo(4);
  }

  @Test
  void commitReturnsTheBatchEventsInRevisionOrderWithPrevKv() {
    put("a", "1");
    Commit c;
    try (ApplyBatch batch = store.newBatch()) {
      batch.put(PutRequest.of(b("a"), b("2")));
      batch.deleteRange(DeleteRangeRequest.of(b("a")));
      batch.put(PutRequest.of(b("b"), b("1")));
      c = batch.commit();
    }
    assertThat(c.revision()).isEqualTo(5);
    assertThat(c.events())
        .containsExactly(
            new Event(Event.EventType.PUT, kv("a", 2, 3, 2, "2"), kv("a", 2, 2, 1, "1")),
            new Event(
                Event.EventType.DELETE,
                new KeyValue(b("a"), 0, 4, 0, null, 0),
                kv("a", 2, 3, 2, "2")),
            new Event(Event.EventType.PUT, kv("b", 5, 5, 1, "1"), null));
  }

  @Test
  void withoutEventPrevKvEventsOmitPrevKvButPutStillAnswersPrevKv() {
    store.close();
    store = MvccStore.open(tmp.resolve("db"), MvccOptions.defaults().withEventPrevKv(false));
    put("a", "1");
    Commit c;
    PutResponse r;
    try (ApplyBatch batch = store.newBatch()) {
      batch.put(PutRequest.of(b("a"), b("2")));
      r = batch.put(new PutRequest(b("a"), b("3"), 0, true, false, false));
      c = batch.commit();
    }
    // Only the put that asked for prev_kv read it, so only its event carries it.
    assertThat(c.events()).extracting(Event::prevKv).containsExactly(null, kv("a", 2, 3, 2, "2"));
    assertThat(r.prevKv()).isEqualTo(kv("a", 2, 3, 2, "2"));
    // The watch hub can still fetch a prev_kv on demand: the key at revision - 1.
    assertThat(getAt("a", 3)).isEqualTo(kv("a", 2, 3, 2, "2"));
  }

  @Test
  void readsAgreeWithAndWithoutTheValueCache() {
    MvccStore uncached =
        MvccStore.open(tmp.resolve("uncached"), MvccOptions.defaults().withValueCacheBytes(0));
    try {
      for (MvccStore st : List.of(store, uncached)) {
        for (int i = 0; i < 30; i++) {
          try (ApplyBatch batch = st.newBatch()) {
            String k = "k" + (i % 5);
            if (i % 7 == 6) {
              batch.deleteRange(DeleteRangeRequest.of(b(k)));
            } else {
              batch.put(PutRequest.of(b(k), b("v" + i)));
            }
            batch.commit();
          }
        }
      }
      for (long rev = 1; rev <= store.currentRevision(); rev++) {
        RangeRequest all = RangeRequest.range(b("k"), b("l")).withRevision(rev);
        // Twice: the first read fills the cache, the second is served from it.
        assertThat(store.range(all)).isEqualTo(uncached.range(all));
        assertThat(store.range(all)).isEqualTo(uncached.range(all));
      }
    } finally {
      uncached.close();
    }
  }
}
