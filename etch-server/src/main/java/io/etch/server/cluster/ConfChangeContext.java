package io.etch.server.cluster;

import io.etch.storage.membership.MemberRecord;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

/**
 * What etch puts in a conf change's context: the id of the proposing member's request (so the
 * proposer's waiter gets the result, as etcd registers {@code cc.ID}) and the member record the
 * change concerns (etcd carries the member as JSON there). Layout: 8-byte big-endian request id,
 * then {@link MemberRecord#encode()} or nothing. Bootstrap entries carry an empty context.
 */
public record ConfChangeContext(long requestId, Optional<MemberRecord> member) {

  public byte[] encode() {
    byte[] m = member.map(MemberRecord::encode).orElse(new byte[0]);
    return ByteBuffer.allocate(8 + m.length).putLong(requestId).put(m).array();
  }

  /** Decodes a context; empty or malformed bytes give request id 0 and no member. */
  public static ConfChangeContext decode(byte[] context) {
    if (context == null || context.length < 8) {
      return new ConfChangeContext(0, Optional.empty());
    }
    long id = ByteBuffer.wrap(context, 0, 8).getLong();
    if (context.length == 8) {
      return new ConfChangeContext(id, Optional.empty());
    }
    try {
      return new ConfChangeContext(
          id, Optional.of(MemberRecord.decode(Arrays.copyOfRange(context, 8, context.length))));
    } catch (IllegalArgumentException e) {
      return new ConfChangeContext(id, Optional.empty());
    }
  }
}
