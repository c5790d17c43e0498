package io.etch.storage.mvcc;

/** etcdserverpb.PutRequest. */
public record PutRequest(
    byte[] key,
    byte[] value,
    long lease,
    boolean prevKv,
    boolean ignoreValue,
    boolean ignoreLease) {
  public PutRequest {
    key = key == null ? KeyValue.EMPTY : key;
    value = value == null ? KeyValue.EMPTY : value;
  }

  public static PutRequest of(byte[] key, byte[] value) {
    return new PutRequest(key, value, 0, false, false, false);
  }
}
