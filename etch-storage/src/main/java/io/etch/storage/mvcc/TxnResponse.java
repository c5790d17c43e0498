package io.etch.storage.mvcc;

import java.util.List;

/** etcdserverpb.TxnResponse: which branch ran and its responses, in request order. */
public record TxnResponse(ResponseHeader header, boolean succeeded, List<ResponseOp> responses) {}
