package io.etch.raft.sim;

import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.HardState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The invariants of a simulated cluster, fed with what the simulator observes. It knows nothing of
 * RawNode: its input is plain observations, so a test can feed it fabricated ones and see it object
 * (see {@code SafetyCheckerTest}).
 *
 * <p>Invariants (each violation is reported with its name):
 *
 * <ul>
 *   <li>{@value #LEADER_PER_TERM}: at most one leader per term (Raft §5.2, Election Safety);
 *   <li>{@value #VOTE_ONCE}, {@value #TERM_REGRESSED}, {@value #COMMIT_REGRESSED}: a persisted hard
 *       state never votes twice in one term, never goes back in term or commit;
 *   <li>{@value #COMMITTED_CHANGED}: the entry at an index, once any node applied it, is the same
 *       for every node forever (State Machine Safety), and a node's log at its commit index holds
 *       that entry's term (Log Matching);
 *   <li>{@value #APPLIED_PREFIX}: every node applies indexes 1, 2, 3... with no gap or repeat, so
 *       its applied sequence (a chain digest) is a prefix of the longest one;
 *   <li>{@value #SNAPSHOT_DIVERGES}: a snapshot's state equals the applied prefix at its index;
 *   <li>{@value #CONF_DISAGREES}: every node computes the same configuration from the same
 *       configuration-change entry;
 *   <li>{@value #READ_STALE}: a read that began after a write was applied somewhere observes that
 *       write or a newer one (linearizable ReadIndex, thesis §6.4).
 * </ul>
 *
 * <p>Confined to the simulator's thread.
 */
final class SafetyChecker {
  static final String LEADER_PER_TERM = "leader-per-term";
  static final String VOTE_ONCE = "vote-once-per-term";
  static final String TERM_REGRESSED = "term-regressed";
  static final String COMMIT_REGRESSED = "commit-regressed";
  static final String COMMITTED_CHANGED = "committed-entry-changed";
  static final String APPLIED_PREFIX = "applied-prefix";
  static final String SNAPSHOT_DIVERGES = "snapshot-diverges";
  static final String CONF_DISAGREES = "conf-disagrees";
  static final String READ_STALE = "read-linearizability";

  private final TreeMap<Long, Long> leaderByTerm = new TreeMap<>();
  // committed.get(i - 1) is the entry first applied (by any node) at index i.
  private final ArrayList<Entry> committed = new ArrayList<>();
  // digests[i] is the chain digest of the committed prefix 1..i; digests[0] = 0.
  private long[] digests = new long[1024];
  private final TreeMap<Long, long[]> appliedByNode = new TreeMap<>(); // node -> {index, digest}
  private final TreeMap<Long, HardState> hardStates = new TreeMap<>();
  private final TreeMap<Long, String> confOutcomes = new TreeMap<>();
  private final TreeMap<String, Long> latestAckedWrite = new TreeMap<>(); // key -> index
  private final TreeMap<Long, Object[]> reads = new TreeMap<>(); // readId -> {key, required}

  /** The chain digest after applying {@code e} on top of {@code prev}. */
  static long chain(long prev, Entry e) {
    long h = 0xcbf29ce484222325L;
    for (byte b : e.data()) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    long x = prev * 0x9E3779B97F4A7C15L;
    x ^= e.index() * 0xC2B2AE3D27D4EB4FL;
    x ^= e.term() * 0x165667B19E3779F9L;
    x ^= (e.type().ordinal() + 1L) * 0x27D4EB2F165667C5L;
    x ^= h;
    x ^= x >>> 31;
    x *= 0x94D049BB133111EBL;
    return x ^ (x >>> 29);
  }

  long committedIndex() {
    return committed.size();
  }

  Entry committedEntry(long index) {
    return committed.get((int) (index - 1));
  }

  Map<Long, Long> leaders() {
    return leaderByTerm;
  }

  /** {@code node} is leader in {@code term}. */
  void onLeader(long node, long term) {
    Long prev = leaderByTerm.putIfAbsent(term, node);
    if (prev != null && prev != node) {
      throw new InvariantViolation(
          LEADER_PER_TERM, "term " + term + " has two leaders: " + prev + " and " + node);
    }
  }

  /**
   * {@code node} persisted {@code hs}; {@code termAtCommit} is the term of its log entry at {@code
   * hs.commit()}, or -1 when compacted away.
   */
  void onHardState(long node, HardState hs, long termAtCommit) {
    HardState prev = hardStates.put(node, hs);
    if (prev != null) {
      if (hs.term() < prev.term()) {
        throw new InvariantViolation(
            TERM_REGRESSED, "node " + node + " persisted " + hs + " after " + prev);
      }
      if (hs.term() == prev.term() && prev.vote() != 0 && hs.vote() != prev.vote()) {
        throw new InvariantViolation(
            VOTE_ONCE, "node " + node + " persisted " + hs + " after " + prev);
      }
      if (hs.commit() < prev.commit()) {
        throw new InvariantViolation(
            COMMIT_REGRESSED, "node " + node + " persisted " + hs + " after " + prev);
      }
    }
    long c = hs.commit();
    if (termAtCommit >= 0 && c > 0 && c <= committed.size()) {
      Entry e = committedEntry(c);
      if (e.term() != termAtCommit) {
        throw new InvariantViolation(
            COMMITTED_CHANGED,
            "node "
                + node
                + " has commit "
                + c
                + " with log term "
                + termAtCommit
                + " but the entry applied at "
                + c
                + " is "
                + e);
      }
    }
  }

  /**
   * {@code node} applied {@code e}. Returns true if no node had applied this index before (the
   * entry became known committed just now).
   */
  boolean onApplied(long node, Entry e) {
    long[] st = appliedByNode.computeIfAbsent(node, k -> new long[] {0, 0});
    if (e.index() != st[0] + 1) {
      throw new InvariantViolation(
          APPLIED_PREFIX,
          "node " + node + " applied index " + e.index() + " right after index " + st[0]);
    }
    long d = chain(st[1], e);
    boolean first = false;
    if (e.index() <= committed.size()) {
      Entry c = committedEntry(e.index());
      if (!c.equals(e)) {
        throw new InvariantViolation(
            COMMITTED_CHANGED,
            "node "
                + node
                + " applied "
                + e
                + " at index "
                + e.index()
                + " but "
                + c
                + " was applied there before");
      }
      if (digests[(int) e.index()] != d) {
        throw new InvariantViolation(
            APPLIED_PREFIX,
            "node "
                + node
                + " applied sequence through "
                + e.index()
                + " differs from the longest");
      }
    } else {
      committed.add(e);
      if (digests.length <= committed.size()) {
        digests = Arrays.copyOf(digests, digests.length * 2);
      }
      digests[committed.size()] = d;
      first = true;
    }
    st[0] = e.index();
    st[1] = d;
    return first;
  }

  /** {@code node} installed a snapshot sent by the leader. It must move its applied index up. */
  void onSnapshotInstalled(long node, long index, long digest) {
    long[] st = appliedByNode.computeIfAbsent(node, k -> new long[] {0, 0});
    if (index <= st[0]) {
      throw new InvariantViolation(
          APPLIED_PREFIX,
          "node " + node + " installed snapshot " + index + " at or below its applied " + st[0]);
    }
    checkSnapshot(node, index, digest);
    st[0] = index;
    st[1] = digest;
  }

  /** {@code node} restarted from its persisted snapshot; it re-applies from there. */
  void onRestart(long node, long index, long digest) {
    checkSnapshot(node, index, digest);
    appliedByNode.put(node, new long[] {index, digest});
  }

  private void checkSnapshot(long node, long index, long digest) {
    if (index > committed.size()) {
      throw new InvariantViolation(
          SNAPSHOT_DIVERGES,
          "node " + node + " has a snapshot at " + index + " beyond any applied index");
    }
    if (digests[(int) index] != digest) {
      throw new InvariantViolation(
          SNAPSHOT_DIVERGES,
          "node " + node + " has a snapshot at " + index + " whose applied sequence differs");
    }
  }

  /**
   * {@code node} applied the configuration change at {@code index}, resulting in {@code result}
   * (null when raft refused it as invalid).
   */
  void onConfApplied(long node, long index, ConfState result) {
    String outcome = describe(result);
    String prev = confOutcomes.putIfAbsent(index, outcome);
    if (prev != null && !prev.equals(outcome)) {
      throw new InvariantViolation(
          CONF_DISAGREES,
          "node " + node + " computed " + outcome + " at index " + index + ", others " + prev);
    }
  }

  static String describe(ConfState cs) {
    if (cs == null) {
      return "invalid";
    }
    return "voters="
        + new TreeSet<>(cs.voters())
        + " outgoing="
        + new TreeSet<>(cs.votersOutgoing())
        + " learners="
        + new TreeSet<>(cs.learners())
        + " learnersNext="
        + new TreeSet<>(cs.learnersNext())
        + " autoLeave="
        + cs.autoLeave();
  }

  /** A write to {@code key} was applied for the first time anywhere, at {@code index}. */
  void onWriteAcked(String key, long index) {
    latestAckedWrite.merge(key, index, Math::max);
  }

  /** A read of {@code key} begins now. */
  void onReadIssued(long readId, String key) {
    reads.put(readId, new Object[] {key, latestAckedWrite.getOrDefault(key, 0L)});
  }

  /** A read that was never served (dropped, node crashed) is forgotten. */
  void onReadAbandoned(long readId) {
    reads.remove(readId);
  }

  /**
   * Read {@code readId} was served by {@code node} at read index {@code readIndex}; the value it
   * saw was written at {@code valueIndex} (0: key absent). Returns false if the read is unknown
   * (already served, e.g. a duplicated response).
   */
  boolean onReadServed(long readId, long node, long readIndex, long valueIndex) {
    Object[] r = reads.remove(readId);
    if (r == null) {
      return false;
    }
    long required = (Long) r[1];
    if (valueIndex < required) {
      throw new InvariantViolation(
          READ_STALE,
          "read "
              + readId
              + " of "
              + r[0]
              + " served by node "
              + node
              + " at read index "
              + readIndex
              + " saw the write at index "
              + valueIndex
              + " but the write at index "
              + required
              + " was applied before the read began");
    }
    return true;
  }
}
