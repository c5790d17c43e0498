package io.etch.server.raft;

import io.etch.raft.Message;
import java.util.List;

/**
 * Carries raft messages to other members. Must not block the raft loop: implementations queue and
 * send on their own threads, and report failures back through {@link RaftNode#reportUnreachable}
 * and {@link RaftNode#reportSnapshot}.
 */
public interface Transport {
  void send(List<Message> messages);

  /** A transport for a single-member cluster: there is never anyone to send to. */
  Transport NONE =
      messages -> {
        if (!messages.isEmpty()) {
          throw new IllegalStateException("single member cluster has no peers: " + messages.get(0));
        }
      };
}
