package io.etch.storage.mvcc;

import java.util.List;

/** etcdserverpb.DeleteRangeResponse; {@code prevKvs} is empty unless asked for. */
public record DeleteRangeResponse(ResponseHeader header, long deleted, List<KeyValue> prevKvs) {}
