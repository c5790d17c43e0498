package io.etch.raft;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Read index requests waiting for the leader to confirm it is still leader (thesis §6.4). Each
 * request records the commit index at arrival; a heartbeat round carrying the newest request's
 * context confirms every request queued before it. Confined to the raft loop.
 */
final class ReadOnly {
  /** A request waiting for a quorum of heartbeat acknowledgements. */
  static final class Pending {
    final long index;
    final Message request;
    final Set<Long> acks = new HashSet<>();

    Pending(long index, Message request) {
      this.index = index;
      this.request = request;
    }
  }

  private final Map<ByteBuffer, Pending> pending = new HashMap<>();
  private final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>();

  ReadOnly() {}

  /** Queues a request whose read index is {@code index}; duplicate contexts are ignored. */
  void addRequest(long index, Message m) {
    ByteBuffer key = ByteBuffer.wrap(m.context());
    if (pending.containsKey(key)) {
      return;
    }
    pending.put(key, new Pending(index, m));
    queue.addLast(key);
  }

  /** Records a heartbeat acknowledgement; returns the acks so far, or null if unknown context. */
  Set<Long> recvAck(long id, byte[] context) {
    Pending p = pending.get(ByteBuffer.wrap(context));
    if (p == null) {
      return null;
    }
    p.acks.add(id);
    return p.acks;
  }

  /** Releases every request queued up to and including the one with {@code context}. */
  List<Pending> advance(byte[] context) {
    ByteBuffer key = ByteBuffer.wrap(context);
    if (!pending.containsKey(key)) {
      return List.of();
    }
    List<Pending> out = new ArrayList<>();
    while (!queue.isEmpty()) {
      ByteBuffer k = queue.pollFirst();
      Pending p = pending.remove(k);
      if (p != null) {
        out.add(p);
      }
      if (k.equals(key)) {
        break;
      }
    }
    return out;
  }

  /** Context of the newest pending request: heartbeats carry it. */
  byte[] lastPendingRequestContext() {
    ByteBuffer last = queue.peekLast();
    if (last == null) {
      return null;
    }
    return last.array();
  }
}
