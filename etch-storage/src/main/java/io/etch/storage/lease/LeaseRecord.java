package io.etch.storage.lease;

import java.nio.ByteBuffer;

/**
 * A lease as persisted (leasepb.Lease): its id, granted TTL and the remaining TTL recorded at the
 * last checkpoint (0 if never checkpointed). Attached keys are not stored here: they are derived
 * from the lease field of the keys in the MVCC store, so they can never disagree.
 */
public record LeaseRecord(long id, long ttl, long remainingTtl) {
  public byte[] encode() {
    return ByteBuffer.allocate(24).putLong(id).putLong(ttl).putLong(remainingTtl).array();
  }

  public static LeaseRecord decode(byte[] b) {
    if (b.length != 24) {
      throw new IllegalArgumentException("malformed lease record of " + b.length + " bytes");
    }
    ByteBuffer buf = ByteBuffer.wrap(b);
    return new LeaseRecord(buf.getLong(), buf.getLong(), buf.getLong());
  }
}
