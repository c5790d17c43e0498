package io.etch.server.watch;

import java.util.Arrays;

/**
 * The keys a watch covers, in etcd's conventions after the server normalized the request: {@code
 * end == null} is the single key {@code key}; an empty {@code end} (a request's range_end "\0") is
 * every key {@code >= key}; otherwise {@code [key, end)} in unsigned byte order. An empty request
 * key is the smallest key "\0" (etcd's v3rpc does the same). Immutable.
 */
record KeyRange(byte[] key, byte[] end) {
  private static final byte[] SMALLEST = {0};
  private static final byte[] FROM_KEY = {};

  /** Normalizes a create request's key and range_end as etcd's v3rpc does. */
  static KeyRange of(byte[] key, byte[] rangeEnd) {
    byte[] k = key.length == 0 ? SMALLEST : key;
    byte[] e;
    if (rangeEnd.length == 0) {
      e = null;
    } else if (rangeEnd.length == 1 && rangeEnd[0] == 0) {
      e = FROM_KEY;
    } else {
      e = rangeEnd;
    }
    return new KeyRange(k, e);
  }

  boolean isSingleKey() {
    return end == null;
  }

  boolean isFromKey() {
    return end != null && end.length == 0;
  }

  /** etcd's ErrEmptyWatcherRange: a range whose end is not after its start covers nothing. */
  boolean isEmpty() {
    return end != null && end.length > 0 && Arrays.compareUnsigned(key, end) >= 0;
  }

  /** True if this is exactly the range of keys prefixed by {@code key} (etcd's prefix end). */
  boolean isPrefix() {
    if (end == null || end.length == 0) {
      return false;
    }
    byte[] p = prefixEnd(key);
    return p != null && Arrays.equals(p, end);
  }

  boolean contains(byte[] k) {
    if (end == null) {
      return Arrays.equals(k, key);
    }
    if (Arrays.compareUnsigned(k, key) < 0) {
      return false;
    }
    return end.length == 0 || Arrays.compareUnsigned(k, end) < 0;
  }

  /**
   * The first key after every key prefixed by {@code prefix} (etcd's GetPrefixRangeEnd), or null if
   * there is none (all bytes 0xff: the prefix range is then "every key >= prefix").
   */
  static byte[] prefixEnd(byte[] prefix) {
    for (int i = prefix.length - 1; i >= 0; i--) {
      if (prefix[i] != (byte) 0xff) {
        byte[] e = Arrays.copyOf(prefix, i + 1);
        e[i]++;
        return e;
      }
    }
    return null;
  }
}
