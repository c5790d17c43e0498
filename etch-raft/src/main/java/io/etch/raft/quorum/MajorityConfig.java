package io.etch.raft.quorum;

import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongUnaryOperator;

/**
 * A set of voters decided by simple majority. Only arithmetic: which index a majority has
 * acknowledged, and whether a majority voted yes or no. Confined to the raft loop (holds a scratch
 * buffer to keep commit computation allocation-free).
 */
public final class MajorityConfig {
  private final long[] ids; // sorted
  private final long[] scratch;

  public MajorityConfig(Collection<Long> voters) {
    this.ids = voters.stream().mapToLong(Long::longValue).sorted().distinct().toArray();
    this.scratch = new long[ids.length];
  }

  public static MajorityConfig empty() {
    return new MajorityConfig(Set.of());
  }

  public int size() {
    return ids.length;
  }

  public boolean isEmpty() {
    return ids.length == 0;
  }

  public boolean contains(long id) {
    return Arrays.binarySearch(ids, id) >= 0;
  }

  /** Voter ids in ascending order (a copy). */
  public long[] ids() {
    return ids.clone();
  }

  public Set<Long> idSet() {
    TreeSet<Long> s = new TreeSet<>();
    for (long id : ids) {
      s.add(id);
    }
    return s;
  }

  /**
   * The largest index acknowledged by a majority. An empty configuration returns {@link
   * Long#MAX_VALUE} so that it never constrains a joint configuration.
   */
  public long committedIndex(LongUnaryOperator ackedIndex) {
    int n = ids.length;
    if (n == 0) {
      return Long.MAX_VALUE;
    }
    for (int i = 0; i < n; i++) {
      scratch[i] = ackedIndex.applyAsLong(ids[i]);
    }
    // Insertion sort: n is 1..7 in practice, and this avoids allocation.
    for (int i = 1; i < n; i++) {
      long v = scratch[i];
      int j = i - 1;
      while (j >= 0 && scratch[j] > v) {
        scratch[j + 1] = scratch[j];
        j--;
      }
      scratch[j + 1] = v;
    }
    // Ascending: the element at n - (n/2+1) is acknowledged by n/2+1 voters.
    return scratch[n - (n / 2 + 1)];
  }

  /** Tallies votes (absent voters are pending). An empty configuration wins by convention. */
  public VoteResult voteResult(Map<Long, Boolean> votes) {
    if (ids.length == 0) {
      return VoteResult.WON;
    }
    int yes = 0;
    int missing = 0;
    for (long id : ids) {
      Boolean v = votes.get(id);
      if (v == null) {
        missing++;
      } else if (v) {
        yes++;
      }
    }
    int q = ids.length / 2 + 1;
    if (yes >= q) {
      return VoteResult.WON;
    }
    if (yes + missing >= q) {
      return VoteResult.PENDING;
    }
    return VoteResult.LOST;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MajorityConfig m && Arrays.equals(m.ids, ids);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(ids);
  }

  @Override
  public String toString() {
    return Arrays.toString(ids);
  }
}
