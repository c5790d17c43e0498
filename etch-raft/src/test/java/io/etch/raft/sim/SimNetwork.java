package io.etch.raft.sim;

import io.etch.raft.Message;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;

/**
 * A seeded, lossy network. Every sent message gets a delivery time in ticks (so messages overtake
 * each other: reordering), may be duplicated, or lost. Links can be cut one way (asymmetric
 * partitions) or both ways; a cut is checked when the message arrives, so a message in flight when
 * a partition starts is lost too, as on a real network.
 *
 * <p>Determinism: the queue is ordered by (delivery time, send sequence), never by hash or
 * identity; the blocked-link set is only ever queried, never iterated.
 *
 * <p>Confined to the simulator's thread.
 */
final class SimNetwork {
  /** A message on the wire. {@code lost} messages are resolved (and reported) but not delivered. */
  record InFlight(
      long deliverAt,
      long seq,
      Message msg,
      long sender,
      long tag,
      boolean lost,
      boolean duplicate) {}

  private final Random random;
  private final PriorityQueue<InFlight> queue =
      new PriorityQueue<>(
          (a, b) ->
              a.deliverAt != b.deliverAt
                  ? Long.compare(a.deliverAt, b.deliverAt)
                  : Long.compare(a.seq, b.seq));
  private final Set<Long> blocked = new HashSet<>();
  private long seq;
  double lossRate;
  double duplicateRate;
  int maxDelay;

  SimNetwork(Random random, double lossRate, double duplicateRate, int maxDelay) {
    this.random = random;
    this.lossRate = lossRate;
    this.duplicateRate = duplicateRate;
    this.maxDelay = maxDelay;
  }

  private static long link(long from, long to) {
    return from * 1_000_003L + to;
  }

  /**
   * {@code sender} sends {@code m} (whose {@code from} may be another node: raft forwards proposals
   * and read requests keeping their origin); {@code tag} is returned with it (the sender's
   * incarnation).
   */
  void send(Message m, long now, long sender, long tag) {
    boolean lost = random.nextDouble() < lossRate;
    queue.add(new InFlight(now + delay(), seq++, m, sender, tag, lost, false));
    if (!lost && random.nextDouble() < duplicateRate) {
      queue.add(new InFlight(now + delay(), seq++, m, sender, tag, false, true));
    }
  }

  private int delay() {
    // Mostly fast, sometimes slow: a long tail makes old messages arrive after newer ones.
    if (maxDelay == 0) {
      return 0;
    }
    return random.nextInt(4) == 0 ? random.nextInt(maxDelay + 1) : random.nextInt(2);
  }

  /** The next message due at or before {@code now}, or null. */
  InFlight poll(long now) {
    InFlight f = queue.peek();
    if (f == null || f.deliverAt > now) {
      return null;
    }
    return queue.poll();
  }

  int inFlight() {
    return queue.size();
  }

  boolean canDeliver(long from, long to) {
    return !blocked.contains(link(from, to));
  }

  void cut(long from, long to) {
    blocked.add(link(from, to));
  }

  void cutBoth(long a, long b) {
    cut(a, b);
    cut(b, a);
  }

  void healAll() {
    blocked.clear();
  }

  boolean partitioned() {
    return !blocked.isEmpty();
  }

  /** Isolates {@code node} from all {@code others} in both directions. */
  void isolate(long node, List<Long> others) {
    for (long o : others) {
      if (o != node) {
        cutBoth(node, o);
      }
    }
  }

  /** Splits {@code nodes} into the given side and the rest. */
  void split(List<Long> side, List<Long> nodes) {
    List<Long> rest = new ArrayList<>(nodes);
    rest.removeAll(side);
    for (long a : side) {
      for (long b : rest) {
        cutBoth(a, b);
      }
    }
  }
}
