package io.etch.cli.bench;

import com.google.protobuf.ByteString;
import java.util.concurrent.ThreadLocalRandom;

/** Values and key choice shared by the writing workloads. */
final class Values {
  private Values() {}

  /** One random value, sent with every request as etcd's benchmark does. */
  static ByteString random(int size) {
    byte[] b = new byte[size];
    ThreadLocalRandom.current().nextBytes(b);
    return ByteString.copyFrom(b);
  }

  /** The key index request {@code seq} uses: in turn with --sequential-keys, else at random. */
  static long keyIndex(long seq, long keySpace, boolean sequential) {
    return sequential ? seq % keySpace : ThreadLocalRandom.current().nextLong(keySpace);
  }
}
