package io.etch.storage.mvcc;

import java.util.List;

/**
 * etcdserverpb.RangeResponse. {@code count} is the number of keys in the range at the read revision
 * (before limit and before the min/max revision filters, as etcd); {@code more} says the limit cut
 * the (filtered) result short.
 */
public record RangeResponse(ResponseHeader header, List<KeyValue> kvs, boolean more, long count) {}
