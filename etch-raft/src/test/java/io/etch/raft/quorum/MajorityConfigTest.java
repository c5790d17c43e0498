package io.etch.raft.quorum;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MajorityConfigTest {

  /** Voters 1..n acknowledged the given indexes (in id order). */
  private static long committed(long... acked) {
    List<Long> ids = new java.util.ArrayList<>();
    for (long i = 1; i <= acked.length; i++) {
      ids.add(i);
    }
    return new MajorityConfig(ids).committedIndex(id -> acked[(int) id - 1]);
  }

  @Test
  void emptyConfigNeverConstrainsTheCommitIndex() {
    assertThat(MajorityConfig.empty().committedIndex(id -> 5)).isEqualTo(Long.MAX_VALUE);
  }

  @ParameterizedTest(name = "acked {0} -> committed {1}")
  @CsvSource({
    "'7', 7",
    "'3 9', 3",
    "'9 3', 3",
    "'1 2 3', 2",
    "'5 5 1', 5",
    "'0 0 8', 0",
    "'1 2 3 4', 2",
    "'4 4 1 1', 1",
    "'10 2 8 9', 8",
    "'1 2 3 4 5', 3",
    "'5 4 3 2 1', 3",
    "'9 9 0 0 9', 9",
    "'1 2 3 4 5 6', 3"
  })
  void committedIndexIsTheHighestIndexAMajorityAcknowledged(String acked, long expected) {
    long[] a = java.util.Arrays.stream(acked.split(" ")).mapToLong(Long::parseLong).toArray();
    assertThat(committed(a)).isEqualTo(expected);
  }

  @Test
  void unknownVoterCountsAsAcknowledgingNothing() {
    MajorityConfig c = new MajorityConfig(List.of(1L, 2L, 3L));
    assertThat(c.committedIndex(id -> id == 1 ? 10 : 0)).isZero();
  }

  /** votes: one char per voter 1..n: y granted, n rejected, _ missing. */
  private static VoteResult vote(String votes) {
    Map<Long, Boolean> m = new HashMap<>();
    List<Long> ids = new java.util.ArrayList<>();
    for (int i = 0; i < votes.length(); i++) {
      long id = i + 1;
      ids.add(id);
      char v = votes.charAt(i);
      if (v != '_') {
        m.put(id, v == 'y');
      }
    }
    return new MajorityConfig(ids).voteResult(m);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "y, WON",
    "n, LOST",
    "_, PENDING",
    "yy, WON",
    "yn, LOST",
    "y_, PENDING",
    "nn, LOST",
    "yy_, WON",
    "y__, PENDING",
    "yn_, PENDING",
    "ynn, LOST",
    "yyn, WON",
    "yyyn, WON",
    "yynn, LOST",
    "yyn_, PENDING",
    "y___, PENDING",
    "nnn_, LOST",
    "yyy__, WON",
    "yy___, PENDING",
    "yynnn, LOST"
  })
  void voteResultNeedsAStrictMajority(String votes, VoteResult expected) {
    assertThat(vote(votes)).isEqualTo(expected);
  }

  @Test
  void emptyConfigWinsEveryVote() {
    assertThat(MajorityConfig.empty().voteResult(Map.of())).isEqualTo(VoteResult.WON);
    assertThat(MajorityConfig.empty().voteResult(Map.of(1L, false))).isEqualTo(VoteResult.WON);
  }

  @Test
  void votesOfNonVotersAreIgnored() {
    MajorityConfig c = new MajorityConfig(Set.of(1L, 2L, 3L));
    assertThat(c.voteResult(Map.of(1L, true, 7L, true, 8L, true))).isEqualTo(VoteResult.PENDING);
  }

  @Test
  void duplicateIdsCountOnce() {
    MajorityConfig c = new MajorityConfig(List.of(1L, 1L, 2L, 3L));
    assertThat(c.size()).isEqualTo(3);
    assertThat(c.voteResult(Map.of(1L, true))).isEqualTo(VoteResult.PENDING);
  }
}
