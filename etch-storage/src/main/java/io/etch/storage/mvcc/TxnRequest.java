package io.etch.storage.mvcc;

import java.util.List;

/**
 * etcdserverpb.TxnRequest: if every {@code compare} holds, run {@code success}, else {@code
 * failure}; all changes land at one revision.
 */
public record TxnRequest(List<Compare> compare, List<RequestOp> success, List<RequestOp> failure) {
  public TxnRequest {
    compare = compare == null ? List.of() : List.copyOf(compare);
    success = success == null ? List.of() : List.copyOf(success);
    failure = failure == null ? List.of() : List.copyOf(failure);
  }
}
