package io.etch.storage.mvcc;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * mvccpb.KeyValue: a key at one revision. {@code createRevision} is the revision of the put that
 * created the key's current generation, {@code modRevision} the revision of this version, {@code
 * version} counts puts since creation (1 for the first; a delete resets it), {@code lease} is 0
 * without a lease. The arrays are owned by the record: callers must not mutate them.
 */
public record KeyValue(
    byte[] key, long createRevision, long modRevision, long version, byte[] value, long lease) {
  static final byte[] EMPTY = new byte[0];

  public KeyValue {
    key = key == null ? EMPTY : key;
    value = value == null ? EMPTY : value;
  }

  /** The same key-value without its value, as a keys_only range returns it. */
  public KeyValue withoutValue() {
    return value.length == 0
        ? this
        : new KeyValue(key, createRevision, modRevision, version, EMPTY, lease);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyValue kv
        && createRevision == kv.createRevision
        && modRevision == kv.modRevision
        && version == kv.version
        && lease == kv.lease
        && Arrays.equals(key, kv.key)
        && Arrays.equals(value, kv.value);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(key) * 31 + Long.hashCode(modRevision);
  }

  @Override
  public String toString() {
    return "KeyValue[key="
        + printable(key)
        + ", create="
        + createRevision
        + ", mod="
        + modRevision
        + ", version="
        + version
        + ", value="
        + printable(value)
        + ", lease="
        + lease
        + "]";
  }

  static String printable(byte[] b) {
    for (byte x : b) {
      if (x < 0x20 || x > 0x7e) {
        return "0x" + HexFormat.of().formatHex(b);
      }
    }
    return new String(b, java.nio.charset.StandardCharsets.US_ASCII);
  }
}
