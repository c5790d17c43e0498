package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.storage.mvcc.Compare.CompareResult;
import io.etch.storage.mvcc.Compare.CompareTarget;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PutAndTxnTest extends MvccTestSupport {

  @Test
  void putWithPrevKvReturnsThePreviousVersion() {
    put("a", "1");
    PutResponse r = apply(a -> a.put(new PutRequest(b("a"), b("2"), 0, true, false, false)));
    assertThat(r.prevKv()).isEqualTo(kv("a", 2, 2, 1, "1"));
    PutResponse fresh = apply(a -> a.put(new PutRequest(b("new"), b("1"), 0, true, false, false)));
    assertThat(fresh.prevKv()).isNull();
  }

  @Test
  void ignoreValueKeepsTheValueAndIgnoreLeaseKeepsTheLease() {
    put("a", "1", 7);
    apply(a -> a.put(new PutRequest(b("a"), null, 9, false, true, false)));
    assertThat(get("a").value()).isEqualTo(b("1"));
    assertThat(get("a").lease()).isEqualTo(9);
    apply(a -> a.put(new PutRequest(b("a"), b("2"), 0, false, false, true)));
    assertThat(get("a").value()).isEqualTo(b("2"));
    assertThat(get("a").lease()).isEqualTo(9);
    assertThat(get("a").version()).isEqualTo(3);
  }

  @Test
  void ignoreValueOnMissingKeyFailsWithKeyNotFoundAndChangesNothing() {
    put("a", "1");
    assertThatThrownBy(
            () -> apply(a -> a.put(new PutRequest(b("nope"), null, 0, false, true, false))))
        .isInstanceOf(EtcdException.class)
        .hasMessage("etcdserver: key not found");
    assertThatThrownBy(
            () -> apply(a -> a.put(new PutRequest(b("nope"), null, 0, false, false, true))))
        .hasMessage("etcdserver: key not found");
    assertThat(store.currentRevision()).isEqualTo(2);
    delete("a");
    assertThatThrownBy(() -> apply(a -> a.put(new PutRequest(b("a"), null, 0, false, true, false))))
        .hasMessage("etcdserver: key not found");
  }

  @Test
  void failedRequestLeavesTheBatchUsable() {
    try (ApplyBatch batch = store.newBatch()) {
      batch.put(PutRequest.of(b("a"), b("1")));
      assertThatThrownBy(() -> batch.put(new PutRequest(b("b"), null, 0, false, true, false)))
          .isInstanceOf(EtcdException.class);
      batch.put(PutRequest.of(b("c"), b("1")));
      assertThat(batch.commit().revision()).isEqualTo(3);
    }
    assertThat(get("c").modRevision()).isEqualTo(3);
  }

  @Test
  void deleteRangeWithPrevKvReturnsTheDeletedVersions() {
    put("a", "1");
    put("b", "2");
    put("c", "3");
    DeleteRangeResponse r = deleteRange("a", "c");
    assertThat(r.deleted()).isEqualTo(2);
    assertThat(r.prevKvs()).containsExactly(kv("a", 2, 2, 1, "1"), kv("b", 3, 3, 1, "2"));
    assertThat(r.header().revision()).isEqualTo(5);
    assertThat(keys(store.range(RangeRequest.range(b("a"), new byte[] {0})))).containsExactly("c");
  }

  /** Key "k" has version 2, create 2, mod 4, lease 5, value "m"; each compare target and op. */
  @ParameterizedTest(name = "{0} {1} {2} -> {3}")
  @CsvSource({
    "VERSION, EQUAL, 2, true",
    "VERSION, EQUAL, 1, false",
    "VERSION, GREATER, 1, true",
    "VERSION, GREATER, 2, false",
    "VERSION, LESS, 3, true",
    "VERSION, LESS, 2, false",
    "VERSION, NOT_EQUAL, 1, true",
    "VERSION, NOT_EQUAL, 2, false",
    "CREATE, EQUAL, 2, true",
    "CREATE, GREATER, 1, true",
    "CREATE, LESS, 2, false",
    "CREATE, NOT_EQUAL, 2, false",
    "MOD, EQUAL, 4, true",
    "MOD, GREATER, 4, false",
    "MOD, LESS, 5, true",
    "MOD, NOT_EQUAL, 3, true",
    "LEASE, EQUAL, 5, true",
    "LEASE, GREATER, 4, true",
    "LEASE, LESS, 5, false",
    "LEASE, NOT_EQUAL, 0, true",
    "VALUE, EQUAL, m, true",
    "VALUE, GREATER, l, true",
    "VALUE, GREATER, mm, false",
    "VALUE, LESS, n, true",
    "VALUE, NOT_EQUAL, m, false",
  })
  void compareEveryTargetWithEveryResult(
      CompareTarget target, CompareResult result, String operand, boolean expected) {
    put("k", "v", 5); // 2
    put("other", "x"); // 3
    put("k", "m", 5); // 4
    long n = target == CompareTarget.VALUE ? 0 : Long.parseLong(operand);
    Compare c = new Compare(result, target, b("k"), null, n, n, n, b(operand), n);
    TxnResponse r =
        txn(
            new TxnRequest(
                List.of(c),
                List.of(RequestOp.put(PutRequest.of(b("then"), b("1")))),
                List.of(RequestOp.put(PutRequest.of(b("else"), b("1"))))));
    assertThat(r.succeeded()).isEqualTo(expected);
    assertThat(get(expected ? "then" : "else")).isNotNull();
    assertThat(get(expected ? "else" : "then")).isNull();
  }

  @Test
  void missingKeyComparesAsZeroesExceptForValue() {
    assertThat(txnSucceeds(Compare.version(b("none"), CompareResult.EQUAL, 0))).isTrue();
    assertThat(txnSucceeds(Compare.createRevision(b("none"), CompareResult.EQUAL, 0))).isTrue();
    assertThat(txnSucceeds(Compare.modRevision(b("none"), CompareResult.LESS, 1))).isTrue();
    assertThat(txnSucceeds(Compare.lease(b("none"), CompareResult.EQUAL, 0))).isTrue();
    assertThat(txnSucceeds(Compare.value(b("none"), CompareResult.EQUAL, b("")))).isFalse();
    assertThat(txnSucceeds(Compare.value(b("none"), CompareResult.NOT_EQUAL, b("x")))).isFalse();
  }

  @Test
  void rangeCompareHoldsOnlyIfEveryKeyInTheRangeSatisfiesIt() {
    put("p/a", "1");
    put("p/b", "1");
    Compare allOne = Compare.value(b("p/"), CompareResult.EQUAL, b("1")).withRangeEnd(b("p0"));
    assertThat(txnSucceeds(allOne)).isTrue();
    put("p/c", "2");
    assertThat(txnSucceeds(allOne)).isFalse();
  }

  private boolean txnSucceeds(Compare c) {
    return txn(new TxnRequest(List.of(c), List.of(), List.of())).succeeded();
  }

  @Test
  void readOnlyTxnDoesNotAdvanceTheRevision() {
    put("a", "1");
    TxnResponse r =
        txn(
            new TxnRequest(
                List.of(Compare.version(b("a"), CompareResult.EQUAL, 1)),
                List.of(RequestOp.range(RangeRequest.of(b("a")))),
                List.of()));
    assertThat(r.header().revision()).isEqualTo(2);
    assertThat(store.currentRevision()).isEqualTo(2);
    RangeResponse inner = ((ResponseOp.ResponseRange) r.responses().get(0)).response();
    assertThat(inner.kvs()).containsExactly(kv("a", 2, 2, 1, "1"));
  }

  @Test
  void rangeInsideTxnSeesTheTxnsEarlierPuts() {
    TxnResponse r =
        txn(
            new TxnRequest(
                List.of(),
                List.of(
                    RequestOp.put(PutRequest.of(b("a"), b("1"))),
                    RequestOp.range(RangeRequest.of(b("a")))),
                List.of()));
    RangeResponse inner = ((ResponseOp.ResponseRange) r.responses().get(1)).response();
    assertThat(inner.kvs()).containsExactly(kv("a", 2, 2, 1, "1"));
    assertThat(inner.header().revision()).isEqualTo(2);
  }

  @Test
  void nestedTxnComparesSeeTheStateBeforeTheOuterTxnAndAllChangesShareOneRevision() {
    put("a", "1"); // rev 2
    TxnRequest inner =
        new TxnRequest(
            // Evaluated before the outer put: a is still at version 1.
            List.of(Compare.version(b("a"), CompareResult.EQUAL, 1)),
            List.of(RequestOp.put(PutRequest.of(b("inner-then"), b("x")))),
            List.of(RequestOp.put(PutRequest.of(b("inner-else"), b("x")))));
    TxnResponse r =
        txn(
            new TxnRequest(
                List.of(Compare.value(b("a"), CompareResult.EQUAL, b("1"))),
                List.of(RequestOp.put(PutRequest.of(b("a"), b("2"))), RequestOp.txn(inner)),
                List.of()));
    assertThat(r.succeeded()).isTrue();
    TxnResponse nested = ((ResponseOp.ResponseTxn) r.responses().get(1)).response();
    assertThat(nested.succeeded()).isTrue();
    assertThat(get("inner-then").modRevision()).isEqualTo(3);
    assertThat(get("a").modRevision()).isEqualTo(3);
    assertThat(get("inner-else")).isNull();
    assertThat(store.currentRevision()).isEqualTo(3);
  }

  @Test
  void txnFailureBranchRunsWhenACompareFails() {
    put("a", "1");
    TxnResponse r =
        txn(
            new TxnRequest(
                List.of(Compare.modRevision(b("a"), CompareResult.EQUAL, 99)),
                List.of(RequestOp.put(PutRequest.of(b("a"), b("2")))),
                List.of(RequestOp.range(RangeRequest.of(b("a"))))));
    assertThat(r.succeeded()).isFalse();
    assertThat(r.responses()).hasSize(1).first().isInstanceOf(ResponseOp.ResponseRange.class);
    assertThat(get("a").value()).isEqualTo(b("1"));
  }

  @Test
  void txnWithIgnoreValueOnMissingKeyFailsBeforeAnyChange() {
    put("a", "1");
    assertThatThrownBy(
            () ->
                txn(
                    new TxnRequest(
                        List.of(),
                        List.of(
                            RequestOp.put(PutRequest.of(b("b"), b("1"))),
                            RequestOp.put(new PutRequest(b("c"), null, 0, false, true, false))),
                        List.of())))
        .hasMessage("etcdserver: key not found");
    assertThat(get("b")).isNull();
    assertThat(store.currentRevision()).isEqualTo(2);
  }

  @Test
  void txnRangeAtFutureRevisionFailsBeforeAnyChange() {
    put("a", "1");
    assertThatThrownBy(
            () ->
                txn(
                    new TxnRequest(
                        List.of(),
                        List.of(
                            RequestOp.put(PutRequest.of(b("b"), b("1"))),
                            RequestOp.range(RangeRequest.of(b("a")).withRevision(3))),
                        List.of())))
        .hasMessage("mvcc: required revision is a future revision");
    assertThat(get("b")).isNull();
  }

  @Test
  void duplicateKeyInTxnIsRejected() {
    TxnRequest twice =
        new TxnRequest(
            List.of(),
            List.of(
                RequestOp.put(PutRequest.of(b("a"), b("1"))),
                RequestOp.put(PutRequest.of(b("a"), b("2")))),
            List.of());
    assertThatThrownBy(() -> txn(twice))
        .hasMessage("etcdserver: duplicate key given in txn request");
    TxnRequest putInDeletedRange =
        new TxnRequest(
            List.of(),
            List.of(
                RequestOp.deleteRange(new DeleteRangeRequest(b("a"), b("c"), false)),
                RequestOp.put(PutRequest.of(b("b"), b("2")))),
            List.of());
    assertThatThrownBy(() -> txn(putInDeletedRange))
        .hasMessage("etcdserver: duplicate key given in txn request");
    TxnRequest nestedThenElse =
        new TxnRequest(
            List.of(),
            List.of(
                RequestOp.txn(
                    new TxnRequest(
                        List.of(),
                        List.of(RequestOp.put(PutRequest.of(b("a"), b("1")))),
                        List.of(RequestOp.put(PutRequest.of(b("a"), b("2"))))))),
            List.of());
    assertThat(txn(nestedThenElse).succeeded()).isTrue(); // then/else are exclusive
    assertThat(store.currentRevision()).isEqualTo(2);
  }

  @Test
  void tooManyOpsIsRejectedByTheSharedCheck() {
    TxnRequest t =
        new TxnRequest(
            List.of(),
            List.of(
                RequestOp.put(PutRequest.of(b("a"), b("1"))),
                RequestOp.put(PutRequest.of(b("b"), b("1")))),
            List.of());
    assertThatThrownBy(() -> TxnChecks.validate(t, 1))
        .hasMessage("etcdserver: too many operations in txn request");
  }
}
