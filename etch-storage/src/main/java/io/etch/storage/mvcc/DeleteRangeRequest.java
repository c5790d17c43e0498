package io.etch.storage.mvcc;

/** etcdserverpb.DeleteRangeRequest; the range follows {@link RangeRequest}'s conventions. */
public record DeleteRangeRequest(byte[] key, byte[] rangeEnd, boolean prevKv) {
  public DeleteRangeRequest {
    key = key == null ? KeyValue.EMPTY : key;
    rangeEnd = rangeEnd == null ? KeyValue.EMPTY : rangeEnd;
  }

  public static DeleteRangeRequest of(byte[] key) {
    return new DeleteRangeRequest(key, null, false);
  }
}
