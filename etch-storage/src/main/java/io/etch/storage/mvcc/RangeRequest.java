package io.etch.storage.mvcc;

/**
 * etcdserverpb.RangeRequest. {@code rangeEnd} empty: the single {@code key}; {@code rangeEnd} =
 * {0}: every key ≥ {@code key}; otherwise [key, rangeEnd). {@code revision} 0 reads the current
 * revision. {@code serializable} is carried for the server (the store always serves locally).
 */
public record RangeRequest(
    byte[] key,
    byte[] rangeEnd,
    long limit,
    long revision,
    SortOrder sortOrder,
    SortTarget sortTarget,
    boolean serializable,
    boolean keysOnly,
    boolean countOnly,
    long minModRevision,
    long maxModRevision,
    long minCreateRevision,
    long maxCreateRevision) {

  public enum SortOrder {
    NONE,
    ASCEND,
    DESCEND
  }

  public enum SortTarget {
    KEY,
    VERSION,
    CREATE,
    MOD,
    VALUE
  }

  public RangeRequest {
    key = key == null ? KeyValue.EMPTY : key;
    rangeEnd = rangeEnd == null ? KeyValue.EMPTY : rangeEnd;
    sortOrder = sortOrder == null ? SortOrder.NONE : sortOrder;
    sortTarget = sortTarget == null ? SortTarget.KEY : sortTarget;
  }

  /** A read of the single {@code key} at the current revision. */
  public static RangeRequest of(byte[] key) {
    return range(key, null);
  }

  public static RangeRequest range(byte[] key, byte[] rangeEnd) {
    return new RangeRequest(
        key, rangeEnd, 0, 0, SortOrder.NONE, SortTarget.KEY, false, false, false, 0, 0, 0, 0);
  }

  public RangeRequest withLimit(long limit) {
    return new RangeRequest(
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        serializable,
        keysOnly,
        countOnly,
        minModRevision,
        maxModRevision,
        minCreateRevision,
        maxCreateRevision);
  }

  public RangeRequest withRevision(long revision) {
    return new RangeRequest(
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        serializable,
        keysOnly,
        countOnly,
        minModRevision,
        maxModRevision,
        minCreateRevision,
        maxCreateRevision);
  }

  public RangeRequest withSort(SortTarget sortTarget, SortOrder sortOrder) {
    return new RangeRequest(
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        serializable,
        keysOnly,
        countOnly,
        minModRevision,
        maxModRevision,
        minCreateRevision,
        maxCreateRevision);
  }

  public RangeRequest withKeysOnly(boolean keysOnly) {
    return new RangeRequest(
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        serializable,
        keysOnly,
        countOnly,
        minModRevision,
        maxModRevision,
        minCreateRevision,
        maxCreateRevision);
  }

  public RangeRequest withCountOnly(boolean countOnly) {
    return new RangeRequest(
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        serializable,
        keysOnly,
        countOnly,
        minModRevision,
        maxModRevision,
        minCreateRevision,
        maxCreateRevision);
  }

  public RangeRequest withModRevisions(long minModRevision, long maxModRevision) {
    return new RangeRequest(
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        serializable,
        keysOnly,
        countOnly,
        minModRevision,
        maxModRevision,
        minCreateRevision,
        maxCreateRevision);
  }

  public RangeRequest withCreateRevisions(long minCreateRevision, long maxCreateRevision) {
    return new RangeRequest(
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        serializable,
        keysOnly,
        countOnly,
        minModRevision,
        maxModRevision,
        minCreateRevision,
        maxCreateRevision);
  }
}
