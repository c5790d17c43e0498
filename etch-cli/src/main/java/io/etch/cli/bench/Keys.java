package io.etch.cli.bench;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The key space of a run: key {@code i} is {@code i} in decimal, left-padded with '0' to the key
 * size, so keys are readable with etcdctl and sort in index order. Immutable.
 */
public final class Keys {
  private final int keySize;
  private final long keySpaceSize;

  public Keys(int keySize, long keySpaceSize) {
    if (!fits(keySize, keySpaceSize)) {
      throw new IllegalArgumentException(
          "key space " + keySpaceSize + " does not fit keys of " + keySize + " bytes");
    }
    this.keySize = keySize;
    this.keySpaceSize = keySpaceSize;
  }

  /** Whether every index below {@code keySpaceSize} has a decimal form of at most keySize chars. */
  static boolean fits(int keySize, long keySpaceSize) {
    return keySize >= 1 && Long.toString(keySpaceSize - 1).length() <= keySize;
  }

  public long size() {
    return keySpaceSize;
  }

  /** Key number {@code index} (0 ≤ index < size). */
  public ByteString key(long index) {
    String digits = Long.toString(index);
    byte[] b = new byte[keySize];
    Arrays.fill(b, 0, keySize - digits.length(), (byte) '0');
    byte[] d = digits.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(d, 0, b, keySize - d.length, d.length);
    return ByteString.copyFrom(b);
  }
}
