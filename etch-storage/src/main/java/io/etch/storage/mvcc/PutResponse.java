package io.etch.storage.mvcc;

/** etcdserverpb.PutResponse; {@code prevKv} is null unless asked for and the key existed. */
public record PutResponse(ResponseHeader header, KeyValue prevKv) {}
