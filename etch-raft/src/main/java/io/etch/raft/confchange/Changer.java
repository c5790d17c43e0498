package io.etch.raft.confchange;

import io.etch.raft.ConfChange.ConfChangeSingle;
import io.etch.raft.ConfState;
import io.etch.raft.RaftError;
import io.etch.raft.RaftException;
import io.etch.raft.quorum.JointConfig;
import io.etch.raft.tracker.Progress;
import io.etch.raft.tracker.ProgressTracker;
import io.etch.raft.tracker.TrackerConfig;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Computes configuration transitions (thesis §4.3) without touching the tracker: each method
 * returns a new configuration and progress map, or throws {@link RaftException} with {@link
 * RaftError#INVALID_CONF_CHANGE} and leaves everything as it was.
 */
public final class Changer {
  private final ProgressTracker tracker;
  private final long lastIndex;

  /** The result of a transition. */
  public record Result(TrackerConfig config, TreeMap<Long, Progress> progress) {}

  public Changer(ProgressTracker tracker, long lastIndex) {
    this.tracker = tracker;
    this.lastIndex = lastIndex;
  }

  /** Enters a joint configuration: the current voters become the outgoing half. */
  public Result enterJoint(boolean autoLeave, List<ConfChangeSingle> changes) {
    Work w = new Work();
    if (w.isJoint()) {
      throw invalid("config is already joint");
    }
    if (w.incoming.isEmpty()) {
      throw invalid("can't make a zero-voter config joint");
    }
    w.outgoing.addAll(w.incoming);
    w.apply(changes);
    w.autoLeave = autoLeave;
    return w.finish();
  }

  /** Leaves the joint configuration: outgoing voters not also incoming are dropped. */
  public Result leaveJoint() {
    Work w = new Work();
    if (!w.isJoint()) {
      throw invalid("can't leave a non-joint config");
    }
    for (long id : w.learnersNext) {
      w.learners.add(id);
      w.progress.get(id).isLearner = true;
    }
    w.learnersNext.clear();
    for (long id : w.outgoing) {
      if (!w.incoming.contains(id) && !w.learners.contains(id)) {
        w.progress.remove(id);
      }
    }
    w.outgoing.clear();
    w.autoLeave = false;
    return w.finish();
  }

  /** Applies changes that alter at most one voter, without a joint configuration. */
  public Result simple(List<ConfChangeSingle> changes) {
    Work w = new Work();
    if (w.isJoint()) {
      throw invalid("can't apply simple config change in joint config");
    }
    Set<Long> before = new TreeSet<>(w.incoming);
    w.apply(changes);
    int diff = 0;
    for (long id : before) {
      if (!w.incoming.contains(id)) {
        diff++;
      }
    }
    for (long id : w.incoming) {
      if (!before.contains(id)) {
        diff++;
      }
    }
    if (diff > 1) {
      throw invalid("more than one voter changed without entering joint config");
    }
    return w.finish();
  }

  /** Builds the tracker state described by a ConfState (startup and snapshot restore). */
  public static Result restore(ConfState cs, long lastIndex, ProgressTracker tracker) {
    TreeMap<Long, Progress> prs = new TreeMap<>();
    TreeSet<Long> all = new TreeSet<>();
    all.addAll(cs.voters());
    all.addAll(cs.votersOutgoing());
    all.addAll(cs.learners());
    all.addAll(cs.learnersNext());
    for (long id : all) {
      boolean learner = cs.learners().contains(id);
      Progress pr = new Progress(0, Math.max(lastIndex, 1), tracker.newInflights(), learner);
      pr.recentActive = true;
      prs.put(id, pr);
    }
    TrackerConfig cfg =
        new TrackerConfig(
            JointConfig.of(cs.voters(), cs.votersOutgoing()),
            cs.learners(),
            cs.learnersNext(),
            cs.autoLeave());
    checkInvariants(cfg, prs);
    return new Result(cfg, prs);
  }

  private static RaftException invalid(String msg) {
    return new RaftException(RaftError.INVALID_CONF_CHANGE, msg);
  }

  private static void checkInvariants(TrackerConfig cfg, Map<Long, Progress> prs) {
    for (long id : cfg.voters().ids()) {
      if (!prs.containsKey(id)) {
        throw invalid("no progress for voter " + id);
      }
    }
    for (long id : cfg.learners()) {
      Progress pr = prs.get(id);
      if (pr == null) {
        throw invalid("no progress for learner " + id);
      }
      if (cfg.voters().contains(id)) {
        throw invalid(id + " is in learners and voters");
      }
      if (!pr.isLearner) {
        throw invalid(id + " is in learners but is not marked as learner");
      }
    }
    for (long id : cfg.learnersNext()) {
      Progress pr = prs.get(id);
      if (pr == null) {
        throw invalid("no progress for learner(next) " + id);
      }
      if (!cfg.voters().outgoing().contains(id)) {
        throw invalid(id + " is in learners_next but not in the outgoing voters");
      }
      if (pr.isLearner) {
        throw invalid(id + " is in learners_next but is already marked as learner");
      }
    }
    if (!cfg.voters().isJoint() && (!cfg.learnersNext().isEmpty() || cfg.autoLeave())) {
      throw invalid("learners_next or autoleave set outside a joint config");
    }
  }

  /** A mutable copy of the current state that a transition edits. */
  private final class Work {
    final TreeSet<Long> incoming;
    final TreeSet<Long> outgoing;
    final TreeSet<Long> learners;
    final TreeSet<Long> learnersNext;
    final TreeMap<Long, Progress> progress = new TreeMap<>();
    boolean autoLeave;

    Work() {
      TrackerConfig cfg = tracker.config();
      incoming = new TreeSet<>(cfg.voters().incoming().idSet());
      outgoing = new TreeSet<>(cfg.voters().outgoing().idSet());
      learners = new TreeSet<>(cfg.learners());
      learnersNext = new TreeSet<>(cfg.learnersNext());
      autoLeave = cfg.autoLeave();
      for (Map.Entry<Long, Progress> e : tracker.progressMap().entrySet()) {
        progress.put(e.getKey(), e.getValue().copy());
      }
    }

    boolean isJoint() {
      return !outgoing.isEmpty();
    }

    void apply(List<ConfChangeSingle> changes) {
      for (ConfChangeSingle c : changes) {
        if (c.nodeId() == 0) {
          continue; // etcd ignores changes to the zero id
        }
        switch (c.type()) {
          case ADD_NODE -> makeVoter(c.nodeId());
          case ADD_LEARNER_NODE -> makeLearner(c.nodeId());
          case REMOVE_NODE -> remove(c.nodeId());
          case UPDATE_NODE -> {}
        }
      }
      if (incoming.isEmpty()) {
        throw invalid("removed all voters");
      }
    }

    void makeVoter(long id) {
      Progress pr = progress.get(id);
      if (pr == null) {
        initProgress(id, false);
        return;
      }
      pr.isLearner = false;
      learners.remove(id);
      learnersNext.remove(id);
      incoming.add(id);
    }

    void makeLearner(long id) {
      Progress pr = progress.get(id);
      if (pr == null) {
        initProgress(id, true);
        return;
      }
      if (pr.isLearner) {
        return;
      }
      // Demote: drop from the incoming voters first.
      incoming.remove(id);
      learners.remove(id);
      learnersNext.remove(id);
      if (outgoing.contains(id)) {
        // Still a voter of the outgoing half: becomes a learner when the joint config is left.
        learnersNext.add(id);
      } else {
        pr.isLearner = true;
        learners.add(id);
      }
    }

    void remove(long id) {
      if (!progress.containsKey(id)) {
        return;
      }
      incoming.remove(id);
      learners.remove(id);
      learnersNext.remove(id);
      if (!outgoing.contains(id)) {
        progress.remove(id);
      }
    }

    void initProgress(long id, boolean learner) {
      if (learner) {
        learners.add(id);
      } else {
        incoming.add(id);
      }
      // Probe from the leader's last index: a new member usually has nothing; the leader backs
      // off quickly via the reject hint. Recently active so check-quorum does not count it
      // against the leader before it had a chance to answer.
      Progress pr = new Progress(0, Math.max(lastIndex, 1), tracker.newInflights(), learner);
      pr.recentActive = true;
      progress.put(id, pr);
    }

    Result finish() {
      TrackerConfig cfg =
          new TrackerConfig(JointConfig.of(incoming, outgoing), learners, learnersNext, autoLeave);
      checkInvariants(cfg, progress);
      return new Result(cfg, progress);
    }
  }
}
