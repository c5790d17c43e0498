package io.etch.storage.mvcc;

/**
 * The part of etcdserverpb.ResponseHeader the store knows: the store revision when the request was
 * served. The server adds cluster_id, member_id and raft_term.
 */
public record ResponseHeader(long revision) {}
