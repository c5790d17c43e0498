package io.etch.raft;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A configuration change as proposed through the log: one or more single changes, a transition and
 * opaque application context (etcd puts member data there). An empty change list means "leave the
 * joint configuration".
 */
public record ConfChange(
    ConfChangeTransition transition, List<ConfChangeSingle> changes, byte[] context) {

  /** One node added, removed, made a learner, or updated. */
  public record ConfChangeSingle(ConfChangeType type, long nodeId) {}

  public ConfChange {
    changes = List.copyOf(changes);
    if (context == null) {
      context = Entry.EMPTY;
    }
  }

  public static ConfChange single(ConfChangeType type, long nodeId) {
    return new ConfChange(
        ConfChangeTransition.AUTO, List.of(new ConfChangeSingle(type, nodeId)), Entry.EMPTY);
  }

  public static ConfChange single(ConfChangeType type, long nodeId, byte[] context) {
    return new ConfChange(
        ConfChangeTransition.AUTO, List.of(new ConfChangeSingle(type, nodeId)), context);
  }

  public static ConfChange leaveJoint() {
    return new ConfChange(ConfChangeTransition.AUTO, List.of(), Entry.EMPTY);
  }

  public boolean isLeaveJoint() {
    return changes.isEmpty();
  }

  /**
   * Whether this change enters a joint configuration, and whether raft leaves it automatically.
   * Returns {@code [enters, autoLeave]}.
   */
  public boolean[] entersJoint() {
    if (transition != ConfChangeTransition.AUTO || changes.size() > 1) {
      return new boolean[] {true, transition != ConfChangeTransition.JOINT_EXPLICIT};
    }
    return new boolean[] {false, false};
  }

  /** Encodes as entry data: version byte, transition, count, (type, id)*, context. */
  public byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(1 + 1 + 4 + changes.size() * 9 + 4 + context.length);
    b.put((byte) 1);
    b.put((byte) transition.ordinal());
    b.putInt(changes.size());
    for (ConfChangeSingle c : changes) {
      b.put((byte) c.type().ordinal());
      b.putLong(c.nodeId());
    }
    b.putInt(context.length);
    b.put(context);
    return b.array();
  }

  /**
   * Decodes entry data written by {@link #encode()}.
   *
   * @throws IllegalArgumentException if the bytes are not a valid encoding
   */
  public static ConfChange decode(byte[] data) {
    try {
      ByteBuffer b = ByteBuffer.wrap(data);
      if (b.get() != 1) {
        throw new IllegalArgumentException("unknown conf change encoding version");
      }
      ConfChangeTransition t = ConfChangeTransition.values()[b.get()];
      int n = b.getInt();
      if (n < 0 || n > (data.length / 9)) {
        throw new IllegalArgumentException("bad conf change count " + n);
      }
      List<ConfChangeSingle> cs = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        ConfChangeType type = ConfChangeType.values()[b.get()];
        cs.add(new ConfChangeSingle(type, b.getLong()));
      }
      int len = b.getInt();
      // Check against what is left before allocating: the bytes come from peers and the WAL.
      if (len < 0 || len != b.remaining()) {
        throw new IllegalArgumentException(
            "bad conf change context length " + len + " (" + b.remaining() + " bytes left)");
      }
      byte[] ctx = new byte[len];
      b.get(ctx);
      return new ConfChange(t, cs, ctx);
    } catch (RuntimeException e) {
      if (e instanceof IllegalArgumentException iae) {
        throw iae;
      }
      throw new IllegalArgumentException("malformed conf change: " + e, e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ConfChange c
        && c.transition == transition
        && c.changes.equals(changes)
        && Arrays.equals(c.context, context);
  }

  @Override
  public int hashCode() {
    return changes.hashCode() * 31 + transition.hashCode();
  }
}
