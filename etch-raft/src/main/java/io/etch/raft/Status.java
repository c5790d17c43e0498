package io.etch.raft;

import java.util.Map;

/**
 * A point-in-time view of a node for operators and tests. {@code progress} is filled only on the
 * leader.
 */
public record Status(
    long id,
    HardState hardState,
    SoftState softState,
    long applied,
    long leadTransferee,
    ConfState confState,
    Map<Long, ProgressView> progress) {

  /** One follower's replication state, as the leader sees it. */
  public record ProgressView(
      long match, long next, String state, boolean recentActive, boolean isLearner) {}
}
