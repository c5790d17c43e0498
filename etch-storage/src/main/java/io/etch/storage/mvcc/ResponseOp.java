package io.etch.storage.mvcc;

/** etcdserverpb.ResponseOp: the response to one {@link RequestOp}, in the same position. */
public sealed interface ResponseOp {
  record ResponseRange(RangeResponse response) implements ResponseOp {}

  record ResponsePut(PutResponse response) implements ResponseOp {}

  record ResponseDeleteRange(DeleteRangeResponse response) implements ResponseOp {}

  record ResponseTxn(TxnResponse response) implements ResponseOp {}
}
