package io.etch.storage.snapshot;

import io.etch.raft.ConfState;
import io.etch.raft.SnapshotMetadata;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;

/**
 * Binary form of {@link SnapshotMetadata} (index, term and the full {@link ConfState}), shared by
 * the WAL's snapshot markers and the snapshot metadata files. Stateless.
 */
public final class SnapshotMetadataCodec {
  private SnapshotMetadataCodec() {}

  /** Bytes {@link #encode} writes for {@code meta}. */
  public static int encodedSize(SnapshotMetadata meta) {
    ConfState cs = meta.confState();
    return 16
        + 1
        + 4 * 4
        + 8
            * (cs.voters().size()
                + cs.learners().size()
                + cs.votersOutgoing().size()
                + cs.learnersNext().size());
  }

  public static void encode(SnapshotMetadata meta, ByteBuffer out) {
    out.putLong(meta.index());
    out.putLong(meta.term());
    ConfState cs = meta.confState();
    out.put((byte) (cs.autoLeave() ? 1 : 0));
    putIds(cs.voters(), out);
    putIds(cs.learners(), out);
    putIds(cs.votersOutgoing(), out);
    putIds(cs.learnersNext(), out);
  }

  public static byte[] encode(SnapshotMetadata meta) {
    ByteBuffer b = ByteBuffer.allocate(encodedSize(meta));
    encode(meta, b);
    return b.array();
  }

  /**
   * Reads what {@link #encode} wrote.
   *
   * @throws IllegalArgumentException if the bytes are not a valid encoding
   */
  public static SnapshotMetadata decode(ByteBuffer in) {
    try {
      long index = in.getLong();
      long term = in.getLong();
      boolean autoLeave = in.get() != 0;
      Set<Long> voters = getIds(in);
      Set<Long> learners = getIds(in);
      Set<Long> outgoing = getIds(in);
      Set<Long> next = getIds(in);
      return new SnapshotMetadata(
          new ConfState(voters, learners, outgoing, next, autoLeave), index, term);
    } catch (java.nio.BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated snapshot metadata", e);
    }
  }

  private static void putIds(Set<Long> ids, ByteBuffer out) {
    out.putInt(ids.size());
    for (long id : ids) {
      out.putLong(id);
    }
  }

  private static Set<Long> getIds(ByteBuffer in) {
    int n = in.getInt();
    if (n < 0 || n > in.remaining() / 8) {
      throw new IllegalArgumentException("bad member count " + n);
    }
    Set<Long> ids = new HashSet<>(n * 2);
    for (int i = 0; i < n; i++) {
      ids.add(in.getLong());
    }
    return ids;
  }
}
