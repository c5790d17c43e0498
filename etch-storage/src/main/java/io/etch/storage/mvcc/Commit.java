package io.etch.storage.mvcc;

import java.util.List;

/**
 * What a committed {@link ApplyBatch} made visible: the store revision and consistent index after
 * it, and the change events of its write transactions in revision order (for the watch hub).
 */
public record Commit(long revision, long consistentIndex, List<Event> events) {}
