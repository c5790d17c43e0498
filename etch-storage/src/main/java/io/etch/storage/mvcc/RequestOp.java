package io.etch.storage.mvcc;

/** etcdserverpb.RequestOp: one operation of a txn branch. */
public sealed interface RequestOp {
  record RequestRange(RangeRequest request) implements RequestOp {}

  record RequestPut(PutRequest request) implements RequestOp {}

  record RequestDeleteRange(DeleteRangeRequest request) implements RequestOp {}

  record RequestTxn(TxnRequest request) implements RequestOp {}

  static RequestOp range(RangeRequest r) {
    return new RequestRange(r);
  }

  static RequestOp put(PutRequest r) {
    return new RequestPut(r);
  }

  static RequestOp deleteRange(DeleteRangeRequest r) {
    return new RequestDeleteRange(r);
  }

  static RequestOp txn(TxnRequest r) {
    return new RequestTxn(r);
  }
}
