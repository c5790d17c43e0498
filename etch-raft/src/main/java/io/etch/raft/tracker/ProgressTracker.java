package io.etch.raft.tracker;

import io.etch.raft.ConfState;
import io.etch.raft.quorum.VoteResult;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The leader's bookkeeping: the active configuration, one {@link Progress} per member (iterated in
 * id order so that behaviour is deterministic), and the votes of the current election. Confined to
 * the raft loop.
 */
public final class ProgressTracker {
  private TrackerConfig config = TrackerConfig.empty();
  private TreeMap<Long, Progress> progress = new TreeMap<>();
  private final Map<Long, Boolean> votes = new HashMap<>();
  private final int maxInflight;
  private final long maxInflightBytes;

  public ProgressTracker(int maxInflight, long maxInflightBytes) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  public TrackerConfig config() {
    return config;
  }

  public TreeMap<Long, Progress> progressMap() {
    return progress;
  }

  public Progress progress(long id) {
    return progress.get(id);
  }

  /** Installs a configuration and its progress map (as computed by the changer). */
  public void reset(TrackerConfig cfg, TreeMap<Long, Progress> prs) {
    this.config = cfg;
    this.progress = prs;
  }

  public Inflights newInflights() {
    return new Inflights(maxInflight, maxInflightBytes);
  }

  public ConfState confState() {
    return config.toConfState();
  }

  /** A single voter (which then is this node) and nothing else: commits need no round trip. */
  public boolean isSingleton() {
    return config.voters().incoming().size() == 1 && !config.voters().isJoint();
  }

  public long committed() {
    return config
        .voters()
        .committedIndex(
            id -> {
              Progress pr = progress.get(id);
              return pr == null ? 0 : pr.match;
            });
  }

  /**
   * Check-quorum: whether a quorum of voters was recently active. The leader ({@code self}) always
   * counts as active: it hears itself.
   */
  public boolean quorumActive(long self) {
    Map<Long, Boolean> active = new HashMap<>();
    for (Map.Entry<Long, Progress> e : progress.entrySet()) {
      if (!e.getValue().isLearner) {
        active.put(e.getKey(), e.getKey() == self || e.getValue().recentActive);
      }
    }
    return config.voters().voteResult(active) == VoteResult.WON;
  }

  public void resetVotes() {
    votes.clear();
  }

  /** Records a vote; a voter's first answer in an election counts, later ones are ignored. */
  public void recordVote(long id, boolean granted) {
    votes.putIfAbsent(id, granted);
  }

  public VoteResult tallyVotes() {
    return config.voters().voteResult(votes);
  }
}
