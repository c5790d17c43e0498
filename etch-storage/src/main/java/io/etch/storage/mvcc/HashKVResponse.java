package io.etch.storage.mvcc;

/**
 * etcdserverpb.HashKVResponse's store part: {@code hash} covers the key space history up to the
 * requested revision; {@code compactRevision} is the compaction it was computed against; {@code
 * header.revision} the current revision.
 */
public record HashKVResponse(ResponseHeader header, int hash, long compactRevision) {}
