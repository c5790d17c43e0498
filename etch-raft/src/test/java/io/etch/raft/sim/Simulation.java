package io.etch.raft.sim;

import io.etch.raft.ConfChange;
import io.etch.raft.ConfChange.ConfChangeSingle;
import io.etch.raft.ConfChangeTransition;
import io.etch.raft.ConfChangeType;
import io.etch.raft.ConfState;
import io.etch.raft.Config;
import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import io.etch.raft.HardState;
import io.etch.raft.MemoryStorage;
import io.etch.raft.Message;
import io.etch.raft.MessageType;
import io.etch.raft.RaftError;
import io.etch.raft.RaftException;
import io.etch.raft.RawNode;
import io.etch.raft.ReadState;
import io.etch.raft.Ready;
import io.etch.raft.Snapshot;
import io.etch.raft.StateRole;
import io.etch.raft.Status;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * A whole raft cluster in one thread, driven by one seed: a lossy network with partitions, crashes
 * and restarts from durable storage, a key-value workload with linearizable reads, leader
 * transfers, snapshots and membership changes, and a {@link SafetyChecker} fed after every step.
 *
 * <p>Time is a tick counter. Each tick: faults and workload are drawn, due messages are delivered
 * (each delivery may enqueue more), then every running node ticks. Every input to a node is one
 * <em>step</em>; after it the node's Ready is handled per the caller contract (snapshot, append,
 * hard state — the fsync — then send, apply, reads, advance) and its role is checked. Any failure
 * is rethrown as an {@link AssertionError} naming the seed, the step and the last events.
 *
 * <p>Determinism: the only randomness is {@link #rnd} (and each node's own {@code Random} derived
 * from it); every choice iterates sorted collections. Rerunning a seed replays it exactly.
 */
final class Simulation {
  /** Per-seed raft configuration knobs, drawn from the seed unless a scenario fixes them. */
  record Knobs(boolean preVote, boolean checkQuorum, long maxSizePerMsg, int maxInflight) {
    static Knobs draw(Random r) {
      long[] sizes = {150, 2048, 1 << 20};
      int[] inflight = {1, 4, 256};
      return new Knobs(
          r.nextInt(5) != 0,
          r.nextInt(5) != 0,
          sizes[r.nextInt(sizes.length)],
          inflight[r.nextInt(inflight.length)]);
    }
  }

  /**
   * Whether the random runs exercise behaviours with a known, reported bug (see SIM-FINDINGS.md);
   * off by default so the runs keep finding new ones. {@code -Detch.sim.includeKnownIssues=true}
   * turns them back on; the regression tests always include them.
   */
  static final boolean INCLUDE_KNOWN_ISSUES =
      Boolean.parseBoolean(System.getProperty("etch.sim.includeKnownIssues", "true"));

  /** Per run: whether this run includes the known issues (regression tests set it). */
  boolean includeKnownIssues = INCLUDE_KNOWN_ISSUES;

  private static final int TRACE = 120;
  private static final String[] KEYS = {"a", "b", "c", "d", "e"};

  final long seed;
  final SimParams params;
  final Knobs knobs;
  private final Random rnd;
  final SafetyChecker checker = new SafetyChecker();
  final SimNetwork net;
  final TreeMap<Long, SimNode> nodes = new TreeMap<>();
  private final long[] initialVoters;
  private final boolean printTrace;

  long now;
  long step;

  /** A scenario's own message filter, applied at delivery: (message, now) -> drop it. */
  java.util.function.BiPredicate<Message, Long> dropIf = (m, t) -> false;

  private long nextOpId = 1;
  private long nextReadId = 1;
  private long nextNodeId;
  private long healAt = -1;
  private boolean faultsOn = true;

  /** The configuration after the last configuration change applied anywhere. */
  ConfState clusterConf;

  private final TreeSet<Long> everMember = new TreeSet<>();
  private final Object[][] trace = new Object[TRACE][];
  private int traceNext;

  // Statistics, for the runner's summary and for determinism checks.
  long writesAcked;
  long readsServed;
  long snapshotsInstalled;
  long confChangesApplied;
  long leadersSeen;

  // Membership planner: one change in flight at a time, retried until applied.
  private ConfChange plan;
  private long planId;
  private final TreeSet<Long> planAttemptIds = new TreeSet<>();
  private long planRetryAt;
  private int planAttempts;
  private long nextPlanAt = 30;

  private boolean sabotaged;

  /** Whether a leader applied its own removal or demotion in this run (known issue F1). */
  boolean leaderRemovedItself;

  Simulation(long seed, SimParams params) {
    this(seed, params, null);
  }

  Simulation(long seed, SimParams params, Knobs fixedKnobs) {
    this.seed = seed;
    this.params = params;
    this.rnd = new Random(seed);
    this.knobs = fixedKnobs != null ? fixedKnobs : Knobs.draw(rnd);
    this.net = new SimNetwork(rnd, params.lossRate(), params.duplicateRate(), params.maxDelay());
    this.printTrace = Boolean.getBoolean("etch.sim.trace");
    int n = params.clusterSize();
    initialVoters = new long[n];
    for (int i = 0; i < n; i++) {
      initialVoters[i] = i + 1;
    }
    nextNodeId = n + 1;
    Long[] boxed = new Long[n];
    for (int i = 0; i < n; i++) {
      boxed[i] = (long) (i + 1);
    }
    clusterConf = ConfState.ofVoters(boxed);
    guard(
        () -> {
          for (long id : initialVoters) {
            SimNode node = new SimNode(id, MemoryStorage.withVoters(initialVoters));
            nodes.put(id, node);
            everMember.add(id);
            start(node);
          }
        });
  }

  // ---------------------------------------------------------------- running

  /** The faulty phase, then healing and the liveness check. */
  Simulation run() {
    guard(
        () -> {
          for (int t = 0; t < params.chaosTicks(); t++) {
            tickOnce();
          }
          checkLiveness();
        });
    return this;
  }

  /** Advances {@code ticks} ticks (faults and workload as configured). */
  void runTicks(int ticks) {
    guard(
        () -> {
          for (int t = 0; t < ticks; t++) {
            tickOnce();
          }
        });
  }

  /** Runs up to {@code maxTicks} until {@code done} holds; returns whether it did. */
  boolean runUntil(java.util.function.BooleanSupplier done, int maxTicks) {
    boolean[] ok = {false};
    guard(
        () -> {
          for (int t = 0; t < maxTicks; t++) {
            if (done.getAsBoolean()) {
              ok[0] = true;
              return;
            }
            tickOnce();
          }
          ok[0] = done.getAsBoolean();
        });
    return ok[0];
  }

  /** Runs {@code action}, turning any failure into one that names the seed and the step. */
  void guard(Runnable action) {
    try {
      action.run();
    } catch (Throwable t) {
      if (t instanceof SimulationFailure || t instanceof KnownIssue) {
        throw t;
      }
      throw new SimulationFailure(this, t);
    }
  }

  private void tickOnce() {
    now++;
    if (faultsOn) {
      faults();
    }
    workload();
    deliverDue();
    for (SimNode n : List.copyOf(nodes.values())) {
      if (n.stopAt >= 0 && now >= n.stopAt && !n.retired && mayRetire(n)) {
        retire(n);
      }
      if (!n.up()) {
        if (!n.retired && n.restartAt >= 0 && now >= n.restartAt) {
          restart(n);
        }
        continue;
      }
      if (faultsOn && params.tickSkipRate() > 0 && rnd.nextDouble() < params.tickSkipRate()) {
        continue;
      }
      input(n, "tick", RawNode::tick);
      if (now % 8 == 0 && n.up()) {
        crossCheckStatus(n);
      }
    }
    deliverDue();
  }

  private void deliverDue() {
    int guardCount = 0;
    SimNetwork.InFlight f;
    while ((f = net.poll(now)) != null) {
      if (++guardCount > 200_000) {
        throw new InvariantViolation(
            "message-storm",
            "more than 200000 deliveries in one tick; in flight " + net.inFlight());
      }
      deliver(f);
    }
  }

  private void deliver(SimNetwork.InFlight f) {
    Message m = f.msg();
    SimNode from = nodes.get(f.sender());
    SimNode to = nodes.get(m.to());
    if (to == null) {
      throw new InvariantViolation(
          "message-to-unknown-node", "node " + f.sender() + " sent to unknown node: " + m);
    }
    boolean ok = !f.lost() && to.up() && net.canDeliver(f.sender(), m.to()) && !dropIf.test(m, now);
    if (ok) {
      input(to, m, r -> r.step(m));
    } else {
      step++;
      record("drop", m);
    }
    boolean sameSender = from != null && from.up() && from.incarnation == f.tag();
    if (m.type() == MessageType.SNAP && !f.duplicate() && sameSender) {
      // The transport tells raft how a snapshot send went (etcd's ReportSnapshot).
      input(from, "reportSnapshot " + m.to() + " " + ok, r -> r.reportSnapshot(m.to(), ok));
    } else if (!ok && sameSender && !f.lost() && rnd.nextInt(8) == 0) {
      input(from, "reportUnreachable " + m.to(), r -> r.reportUnreachable(m.to()));
    }
  }

  // ---------------------------------------------------------------- node lifecycle

  private Config config(SimNode n) {
    return Config.builder(n.id, n.storage, new Random(rnd.nextLong()))
        .applied(n.storage.snapshot().index())
        .electionTick(SimParams.ELECTION_TICK)
        .heartbeatTick(1)
        .preVote(knobs.preVote())
        .checkQuorum(knobs.checkQuorum())
        .maxSizePerMsg(knobs.maxSizePerMsg())
        .maxInflightMsgs(knobs.maxInflight())
        .build();
  }

  /** (Re)starts a node from its durable storage only. */
  private void start(SimNode n) {
    Snapshot snap = n.storage.snapshot();
    KvStateMachine sm = KvStateMachine.restore(snap.data());
    if (sm.appliedIndex() != snap.index()) {
      throw new InvariantViolation(
          SafetyChecker.SNAPSHOT_DIVERGES,
          "node " + n.id + " snapshot at " + snap.index() + " holds state of " + sm.appliedIndex());
    }
    checker.onRestart(n.id, snap.index(), sm.digest());
    n.sm = sm;
    n.conf = snap.metadata().confState();
    n.incarnation++;
    n.restartAt = -1;
    step++;
    record("start", n.id);
    n.role = StateRole.FOLLOWER;
    n.term = n.storage.hardState().term();
    n.raft = new RawNode(config(n));
    drainReady(n);
    observe(n);
  }

  void crash(long id) {
    guard(
        () -> {
          SimNode n = nodes.get(id);
          if (!n.up()) {
            return;
          }
          step++;
          record("crash", id);
          n.raft = null;
          n.sm = null;
          n.conf = null;
          for (long readId : n.pendingReads.keySet()) {
            checker.onReadAbandoned(readId);
          }
          n.pendingReads.clear();
          n.waitingReads.clear();
        });
  }

  void restart(long id) {
    guard(() -> restart(nodes.get(id)));
  }

  private void restart(SimNode n) {
    if (!n.up() && !n.retired) {
      start(n);
    }
  }

  /**
   * The caller contract (RawNode): a removed member is stopped only while running and once raft
   * says the remaining voters no longer need it; until then it keeps running (and is restarted
   * after a crash) like any other node.
   */
  private static boolean mayRetire(SimNode n) {
    return n.up() && n.raft.canRetire();
  }

  /** Stops node {@code id} for good, as an application shuts down a removed member. */
  void retire(long id) {
    guard(() -> retire(nodes.get(id)));
  }

  private void retire(SimNode n) {
    crash(n.id);
    n.retired = true;
    record("retire", n.id);
  }

  /** One input to one node, then its Ready handled and its role observed. */
  private void input(SimNode n, Object what, Consumer<RawNode> action) {
    step++;
    record(n.id, what);
    action.accept(n.raft);
    drainReady(n);
    observe(n);
  }

  private void drainReady(SimNode n) {
    int rounds = 0;
    while (n.up() && n.raft.hasReady()) {
      if (++rounds > 1000) {
        throw new InvariantViolation("ready-livelock", "node " + n.id + " has Ready forever");
      }
      Ready rd = n.raft.ready();
      handleReady(n, rd);
      if (n.up()) {
        n.raft.advance(rd);
      }
    }
  }

  /** The caller contract, in order. */
  private void handleReady(SimNode n, Ready rd) {
    if (rd.softState() != null) {
      n.role = rd.softState().role();
    }
    Snapshot snap = rd.snapshot();
    if (snap != null && !snap.isEmpty()) {
      n.storage.applySnapshot(snap);
      KvStateMachine sm = KvStateMachine.restore(snap.data());
      if (sm.appliedIndex() != snap.index()) {
        throw new InvariantViolation(
            SafetyChecker.SNAPSHOT_DIVERGES,
            "node " + n.id + " got snapshot " + snap.index() + " holding " + sm.appliedIndex());
      }
      checker.onSnapshotInstalled(n.id, snap.index(), sm.digest());
      n.sm = sm;
      n.conf = snap.metadata().confState();
      snapshotsInstalled++;
    }
    n.storage.append(rd.entries());
    HardState hs = rd.hardState();
    if (hs != null) {
      n.storage.setHardState(hs);
      n.term = hs.term();
      checker.onHardState(n.id, hs, termAt(n, hs.commit()));
    }
    // Only now, as after an fsync, does anything leave the node.
    for (Message m : rd.messages()) {
      // A forwarded proposal or read request keeps its origin in `from` (as etcd-io/raft).
      if (m.type().isLocal() || m.to() == 0 || m.to() == n.id || m.from() == 0) {
        throw new InvariantViolation("bad-message", "node " + n.id + " emitted " + m);
      }
      net.send(m.type() == MessageType.SNAP ? freshSnapshot(n, m) : m, now, n.id, n.incarnation);
    }
    for (Entry e : rd.committedEntries()) {
      apply(n, e);
    }
    for (ReadState rs : rd.readStates()) {
      long readId = ByteBuffer.wrap(rs.requestContext()).getLong();
      if (!n.pendingReads.containsKey(readId)) {
        continue;
      }
      if (params.sabotage() == SimParams.Sabotage.READ_BEFORE_APPLY
          || n.sm.appliedIndex() >= rs.index()) {
        serveRead(n, readId, rs.index());
      } else {
        n.waitingReads.add(rs);
      }
    }
    if (!n.waitingReads.isEmpty()) {
      Iterator<ReadState> it = n.waitingReads.iterator();
      while (it.hasNext()) {
        ReadState rs = it.next();
        if (n.sm.appliedIndex() >= rs.index()) {
          it.remove();
          serveRead(n, ByteBuffer.wrap(rs.requestContext()).getLong(), rs.index());
        }
      }
    }
  }

  /**
   * As etcd's server does when it sends MsgSnap, the sender may replace raft's stored snapshot with
   * one of its current applied state. It must when the stored snapshot predates the recipient's
   * membership: raft (like etcd-io/raft) refuses a snapshot whose configuration lacks the
   * recipient, so a member added after the last snapshot could never catch up otherwise.
   */
  private Message freshSnapshot(SimNode n, Message m) {
    Snapshot s = m.snapshot();
    boolean stale = !members(s.metadata().confState()).contains(m.to());
    if (n.sm.appliedIndex() <= n.storage.snapshot().index() || !(stale || rnd.nextBoolean())) {
      return m;
    }
    Snapshot fresh = n.storage.createSnapshot(n.sm.appliedIndex(), n.conf, n.sm.snapshot());
    record("fresh snapshot for " + m.to(), fresh.index());
    return m.toBuilder().snapshot(fresh).build();
  }

  private static long termAt(SimNode n, long index) {
    try {
      return n.storage.term(index);
    } catch (RaftException e) {
      if (e.error() == RaftError.COMPACTED) {
        return -1;
      }
      throw new InvariantViolation(
          "commit-beyond-log",
          "node " + n.id + " persisted commit " + index + " beyond its log " + n);
    }
  }

  private void apply(SimNode n, Entry e) {
    Entry reported = e;
    if (params.sabotage() == SimParams.Sabotage.ALTER_APPLIED_ENTRY
        && !sabotaged
        && n.id == 1
        && e.data().length > 0
        && e.index() <= checker.committedIndex()) {
      // Another node applied this index before: report a changed copy of it.
      sabotaged = true;
      byte[] d = e.data().clone();
      d[d.length - 1] ^= 1;
      reported = new Entry(e.term(), e.index(), e.type(), d);
    }
    boolean first = checker.onApplied(n.id, reported);
    KvStateMachine.Write w = n.sm.apply(e);
    if (e.type() == EntryType.CONF_CHANGE) {
      ConfChange cc = n.sm.filter(ConfChange.decode(e.data()));
      ConfState cs = null;
      try {
        cs = n.raft.applyConfChange(cc);
      } catch (RaftException ex) {
        if (ex.error() != RaftError.INVALID_CONF_CHANGE) {
          throw ex;
        }
      }
      checker.onConfApplied(n.id, e.index(), cs);
      if (cs != null
          && n.role == StateRole.LEADER
          && (!members(cs).contains(n.id) || cs.learners().contains(n.id))) {
        // The situation of known issue F1: the leader applies its own removal or demotion.
        leaderRemovedItself = true;
        record("leader applied its own removal", n.id);
      }
      if (cs != null) {
        n.sm.onConfApplied(n.conf, cs);
        n.conf = cs;
      }
      if (first) {
        onConfChangeCommitted(cc, cs);
      }
    }
    if (first && w != null) {
      checker.onWriteAcked(w.key(), e.index());
      writesAcked++;
    }
  }

  private void serveRead(SimNode n, long readId, long readIndex) {
    String key = n.pendingReads.remove(readId);
    if (key == null) {
      return;
    }
    KvStateMachine.Versioned v = n.sm.get(key);
    step++;
    record("serve read " + readId + " at " + readIndex, v);
    if (checker.onReadServed(readId, n.id, readIndex, v == null ? 0 : v.index())) {
      readsServed++;
    }
  }

  /**
   * Records the node's role as its Readies reported it; every few ticks cross-checks that against
   * {@link RawNode#status()} (which is too costly to call after every step).
   */
  private void observe(SimNode n) {
    if (!n.up()) {
      return;
    }
    if (n.role == StateRole.LEADER) {
      if (!checker.leaders().containsKey(n.term)) {
        leadersSeen++;
        if (params.sabotage() == SimParams.Sabotage.SECOND_LEADER && !sabotaged) {
          sabotaged = true;
          checker.onLeader(n.id == 1 ? 2 : 1, n.term);
        }
      }
      checker.onLeader(n.id, n.term);
    }
  }

  private void crossCheckStatus(SimNode n) {
    Status s = n.raft.status();
    if (s.softState().role() != n.role || s.hardState().term() != n.term) {
      throw new InvariantViolation(
          "ready-reports-state",
          "node "
              + n.id
              + " status says "
              + s.softState().role()
              + " in term "
              + s.hardState().term()
              + " but its Readies said "
              + n.role
              + " in term "
              + n.term);
    }
  }

  // ---------------------------------------------------------------- faults

  private void faults() {
    List<Long> all = ids(false);
    if (net.partitioned()) {
      if (healAt >= 0 && now >= healAt) {
        step++;
        record("heal", null);
        net.healAll();
        healAt = -1;
      }
    } else if (params.partitionRate() > 0 && rnd.nextDouble() < params.partitionRate()) {
      partition(all);
    }
    if (params.crashRate() > 0 && rnd.nextDouble() < params.crashRate()) {
      long down = nodes.values().stream().filter(n -> !n.up() && !n.retired).count();
      List<Long> up = ids(true);
      if (down < params.maxDown() && !up.isEmpty()) {
        long victim = pick(up);
        crash(victim);
        nodes.get(victim).restartAt = now + 3 + rnd.nextInt(60);
      }
    }
    if (params.snapshotRate() > 0 && rnd.nextDouble() < params.snapshotRate()) {
      List<Long> up = ids(true);
      if (!up.isEmpty()) {
        compact(pick(up), rnd.nextInt(12));
      }
    }
    if (params.transferRate() > 0 && rnd.nextDouble() < params.transferRate()) {
      List<Long> up = ids(true);
      List<Long> voters = sorted(clusterConf.voters());
      if (!up.isEmpty() && !voters.isEmpty()) {
        // Usually asked of the leader; sometimes of a follower, which must cope.
        long leader = leaderId();
        long at = leader != 0 && rnd.nextInt(4) != 0 ? leader : pick(up);
        long target = pick(voters);
        input(nodes.get(at), "transferLeader " + target, r -> r.transferLeader(target));
      }
    }
    if (params.campaignRate() > 0 && rnd.nextDouble() < params.campaignRate()) {
      List<Long> up = ids(true);
      if (!up.isEmpty()) {
        input(nodes.get(pick(up)), "campaign", RawNode::campaign);
      }
    }
    if (params.membership()) {
      membership();
    }
  }

  private void partition(List<Long> all) {
    int kind = rnd.nextInt(5);
    step++;
    healAt = now + 5 + rnd.nextInt(60);
    switch (kind) {
      case 0 -> {
        long victim = pick(all);
        net.isolate(victim, all);
        record("isolate", victim);
      }
      case 1 -> {
        // The leader can still send but hears nothing: check-quorum must depose it.
        long victim = leaderId() != 0 ? leaderId() : pick(all);
        for (long o : all) {
          if (o != victim) {
            net.cut(o, victim);
          }
        }
        record("deafen", victim);
      }
      case 2 -> {
        // A node hears everything but cannot be heard.
        long victim = pick(all);
        for (long o : all) {
          if (o != victim) {
            net.cut(victim, o);
          }
        }
        record("mute", victim);
      }
      case 3 -> {
        List<Long> shuffled = new ArrayList<>(all);
        java.util.Collections.shuffle(shuffled, rnd);
        List<Long> side = shuffled.subList(0, 1 + rnd.nextInt(Math.max(1, all.size() - 1)));
        net.split(List.copyOf(side), all);
        record("split", side);
      }
      default -> {
        // Random one-way link cuts.
        int cuts = 1 + rnd.nextInt(all.size());
        for (int i = 0; i < cuts; i++) {
          long a = pick(all);
          long b = pick(all);
          if (a != b) {
            net.cut(a, b);
          }
        }
        record("cut links", cuts);
      }
    }
  }

  /** Node {@code id} snapshots at its applied index and compacts, keeping {@code keep} entries. */
  void compact(long id, int keep) {
    guard(
        () -> {
          SimNode n = nodes.get(id);
          if (!n.up()) {
            return;
          }
          long applied = n.sm.appliedIndex();
          if (applied <= n.storage.snapshot().index()) {
            return;
          }
          step++;
          record("compact", id + " at " + applied);
          n.storage.createSnapshot(applied, n.conf, n.sm.snapshot());
          long to = applied - keep;
          if (to > n.storage.firstIndex() - 1) {
            n.storage.compact(to);
          }
        });
  }

  // ---------------------------------------------------------------- workload

  private void workload() {
    for (double r = params.writeRate(); r > 0; r -= 1) {
      if (rnd.nextDouble() < Math.min(1, r)) {
        List<Long> up = ids(true);
        if (!up.isEmpty()) {
          write(pick(up), KEYS[rnd.nextInt(KEYS.length)]);
        }
      }
    }
    for (double r = params.readRate(); r > 0; r -= 1) {
      if (rnd.nextDouble() < Math.min(1, r)) {
        List<Long> up = ids(true);
        if (!up.isEmpty()) {
          read(pick(up), KEYS[rnd.nextInt(KEYS.length)]);
        }
      }
    }
  }

  /** Proposes a write at {@code id}; returns its operation id, or 0 if the proposal was dropped. */
  long write(long id, String key) {
    long[] op = {0};
    guard(
        () -> {
          SimNode n = nodes.get(id);
          if (!n.up()) {
            return;
          }
          long opId = nextOpId++;
          byte[] data = KvStateMachine.encodeWrite(opId, key, "v" + opId);
          try {
            input(n, "propose " + key + "=v" + opId, r -> r.propose(data));
            op[0] = opId;
          } catch (RaftException e) {
            if (e.error() != RaftError.PROPOSAL_DROPPED) {
              throw e;
            }
            finishAfterRefusal(n);
          }
        });
    return op[0];
  }

  /** Issues a linearizable read of {@code key} at {@code id}; returns its read id. */
  long read(long id, String key) {
    long[] rid = {0};
    guard(
        () -> {
          SimNode n = nodes.get(id);
          if (!n.up()) {
            return;
          }
          long readId = nextReadId++;
          checker.onReadIssued(readId, key);
          n.pendingReads.put(readId, key);
          byte[] ctx = ByteBuffer.allocate(8).putLong(readId).array();
          try {
            input(n, "readIndex " + readId + " " + key, r -> r.readIndex(ctx));
          } catch (RaftException e) {
            if (e.error() != RaftError.PROPOSAL_DROPPED) {
              throw e;
            }
            n.pendingReads.remove(readId);
            checker.onReadAbandoned(readId);
            finishAfterRefusal(n);
          }
          rid[0] = readId;
        });
    return rid[0];
  }

  /** An input refused by an exception still leaves the node consistent; handle what it has. */
  private void finishAfterRefusal(SimNode n) {
    drainReady(n);
    observe(n);
  }

  // ---------------------------------------------------------------- membership

  private void membership() {
    if (plan == null) {
      if (now < nextPlanAt) {
        return;
      }
      plan = nextPlan();
      if (plan == null) {
        nextPlanAt = now + 10;
        return;
      }
      planAttempts = 0;
      planRetryAt = now;
      planAttemptIds.clear();
    }
    if (now < planRetryAt) {
      return;
    }
    if (++planAttempts > 12) {
      record("abandon plan", plan);
      endPlan();
      return;
    }
    List<Long> up = ids(true);
    if (up.isEmpty()) {
      return;
    }
    long leader = leaderId();
    if (!includeKnownIssues && leader != 0 && removesOrDemotes(plan, leader)) {
      // Known issue F1 (SIM-FINDINGS.md): a leader that steps down on applying its own removal
      // or demotion can leave the new voters unable to elect anyone. Wait for another leader.
      planRetryAt = now + 5;
      planAttempts--;
      if (rnd.nextInt(4) == 0) {
        long to = pick(sorted(clusterConf.voters()));
        input(nodes.get(leader), "transferLeader " + to, r -> r.transferLeader(to));
      }
      return;
    }
    long at = leader != 0 && rnd.nextInt(3) != 0 ? leader : pick(up);
    long attemptId = ++planId;
    planAttemptIds.add(attemptId);
    ConfChange cc =
        new ConfChange(
            plan.transition(), plan.changes(), ByteBuffer.allocate(8).putLong(attemptId).array());
    SimNode n = nodes.get(at);
    try {
      input(n, "proposeConfChange " + describe(cc), r -> r.proposeConfChange(cc));
      // Accepted for now; if it is lost, propose again later.
      planRetryAt = now + 3L * SimParams.ELECTION_TICK;
    } catch (RaftException e) {
      finishAfterRefusal(n);
      switch (e.error()) {
        case PROPOSAL_DROPPED, CONF_CHANGE_PENDING -> planRetryAt = now + 1 + rnd.nextInt(10);
        case INVALID_CONF_CHANGE -> {
          record("refused plan", describe(cc));
          endPlan();
        }
        default -> throw e;
      }
    }
  }

  private static boolean removesOrDemotes(ConfChange cc, long id) {
    for (ConfChangeSingle c : cc.changes()) {
      if (c.nodeId() == id
          && (c.type() == ConfChangeType.REMOVE_NODE
              || c.type() == ConfChangeType.ADD_LEARNER_NODE)) {
        return true;
      }
    }
    return false;
  }

  private void endPlan() {
    plan = null;
    planAttemptIds.clear();
    nextPlanAt = now + 5 + rnd.nextInt(40);
  }

  private void onConfChangeCommitted(ConfChange cc, ConfState cs) {
    confChangesApplied++;
    if (cs != null) {
      clusterConf = cs;
      for (long id : members(cs)) {
        everMember.add(id);
      }
      // A member that left is shut down a little later, as etcd stops a removed member.
      for (long id : everMember) {
        SimNode n = nodes.get(id);
        if (!members(cs).contains(id) && n.stopAt < 0 && !n.retired) {
          // etcd stops a removed member after a delay (stopWithDelay, 10 ticks) so the commit
          // of its removal can still reach the others; a delay alone does not ensure that under
          // message loss, so it is also held until raft says it may stop (mayRetire).
          n.stopAt = now + SimParams.ELECTION_TICK + rnd.nextInt(20);
        }
      }
    }
    if (plan != null && cc.context().length == 8) {
      long attempt = ByteBuffer.wrap(cc.context()).getLong();
      if (planAttemptIds.contains(attempt)) {
        record("plan done", describe(cc) + " -> " + SafetyChecker.describe(cs));
        endPlan();
      }
    }
  }

  static TreeSet<Long> members(ConfState cs) {
    TreeSet<Long> m = new TreeSet<>(cs.voters());
    m.addAll(cs.votersOutgoing());
    m.addAll(cs.learners());
    m.addAll(cs.learnersNext());
    return m;
  }

  /** Picks the next membership change from the current configuration. */
  private ConfChange nextPlan() {
    ConfState cs = clusterConf;
    if (cs.isJoint()) {
      if (cs.autoLeave()) {
        return null; // raft leaves on its own
      }
      if (rnd.nextInt(10) != 0) {
        return ConfChange.leaveJoint();
      }
      // Entering joint while joint must be refused; the cluster must not mind.
    }
    List<Long> voters = sorted(cs.voters());
    List<Long> learners = sorted(cs.learners());
    int maxIds = params.clusterSize() + 4;
    boolean canAdd = nextNodeId <= maxIds;
    int maxVoters = params.clusterSize() + 1;
    switch (rnd.nextInt(6)) {
      case 0:
        if (canAdd) {
          return ConfChange.single(ConfChangeType.ADD_LEARNER_NODE, newNode());
        }
        return null;
      case 1:
        if (!learners.isEmpty() && voters.size() < maxVoters) {
          return ConfChange.single(ConfChangeType.ADD_NODE, pick(learners));
        }
        return null;
      case 2:
        if (canAdd && voters.size() < maxVoters) {
          return ConfChange.single(ConfChangeType.ADD_NODE, newNode());
        }
        return null;
      case 3:
        {
          List<Long> candidates = new ArrayList<>(learners);
          if (voters.size() > 2) {
            candidates.addAll(voters);
          }
          if (candidates.isEmpty()) {
            return null;
          }
          return ConfChange.single(ConfChangeType.REMOVE_NODE, pick(candidates));
        }
      default:
        {
          // Joint consensus: replace a voter, or demote one to learner while adding another.
          long incoming;
          if (!learners.isEmpty() && rnd.nextBoolean()) {
            incoming = pick(learners);
          } else if (canAdd) {
            incoming = newNode();
          } else {
            return null;
          }
          long outgoing = pick(voters);
          ConfChangeType out =
              rnd.nextBoolean() ? ConfChangeType.REMOVE_NODE : ConfChangeType.ADD_LEARNER_NODE;
          ConfChangeTransition t =
              ConfChangeTransition.values()[rnd.nextInt(ConfChangeTransition.values().length)];
          return new ConfChange(
              t,
              List.of(
                  new ConfChangeSingle(ConfChangeType.ADD_NODE, incoming),
                  new ConfChangeSingle(out, outgoing)),
              Entry.EMPTY);
        }
    }
  }

  /** Starts a brand-new, empty node (not yet a member) and returns its id. */
  long addNode() {
    long[] id = {0};
    guard(() -> id[0] = newNode());
    return id[0];
  }

  /** Proposes {@code cc} at node {@code id}; returns the error raft refused it with, or null. */
  RaftError proposeConfChange(long id, ConfChange cc) {
    RaftError[] err = {null};
    guard(
        () -> {
          SimNode n = nodes.get(id);
          try {
            input(n, "proposeConfChange " + describe(cc), r -> r.proposeConfChange(cc));
          } catch (RaftException e) {
            err[0] = e.error();
            finishAfterRefusal(n);
          }
        });
    return err[0];
  }

  /** Asks node {@code at} to transfer leadership to {@code to}. */
  void transferLeader(long at, long to) {
    guard(() -> input(nodes.get(at), "transferLeader " + to, r -> r.transferLeader(to)));
  }

  /** Whether any running node applied write {@code opId}. */
  boolean appliedAnywhereOp(long opId) {
    return appliedAnywhere(opId);
  }

  /** A brand-new node, started empty with the bootstrap configuration, as etcd joins a member. */
  private long newNode() {
    long id = nextNodeId++;
    SimNode n = new SimNode(id, MemoryStorage.withVoters(initialVoters));
    nodes.put(id, n);
    start(n);
    return id;
  }

  static String describe(ConfChange cc) {
    StringBuilder sb = new StringBuilder(cc.transition().name());
    for (ConfChangeSingle c : cc.changes()) {
      sb.append(' ').append(c.type()).append(' ').append(c.nodeId());
    }
    if (cc.isLeaveJoint()) {
      sb.append(" leave-joint");
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- liveness

  /**
   * Stops all faults, heals the network, restarts every member; then a leader must be elected and a
   * new proposal committed within {@code livenessTicks}, and every running member must apply it
   * within as many ticks again.
   */
  void checkLiveness() {
    guard(
        () -> {
          faultsOn = false;
          step++;
          record("heal all, restart all", null);
          net.healAll();
          net.lossRate = 0;
          net.duplicateRate = 0;
          net.maxDelay = 0;
          for (SimNode n : List.copyOf(nodes.values())) {
            if (n.stopAt >= 0 && !n.retired && mayRetire(n)) {
              retire(n);
            }
            restart(n);
          }
          long start = now;
          long marker = 0;
          long proposedAt = -1;
          long committedAt = -1;
          while (true) {
            if (committedAt < 0 && marker != 0 && appliedAnywhere(marker)) {
              committedAt = now;
            }
            if (committedAt >= 0 && appliedByAllMembers(marker)) {
              return;
            }
            if (committedAt < 0 && now - start > params.livenessTicks()) {
              if (leaderRemovedItself && !includeKnownIssues) {
                throw new KnownIssue("F1", "liveness after a leader removed itself");
              }
              throw new InvariantViolation(
                  "liveness",
                  "no leader committed a proposal within "
                      + params.livenessTicks()
                      + " ticks of healing; "
                      + clusterSummary());
            }
            if (committedAt >= 0 && now - committedAt > params.livenessTicks()) {
              throw new InvariantViolation(
                  "liveness-catch-up",
                  "members did not apply the committed proposal within "
                      + params.livenessTicks()
                      + " ticks; "
                      + clusterSummary());
            }
            long leader = leaderId();
            if (committedAt < 0
                && leader != 0
                && (proposedAt < 0 || now - proposedAt >= 2 * SimParams.ELECTION_TICK)) {
              long op = write(leader, "liveness");
              if (op != 0) {
                marker = op;
                proposedAt = now;
              }
            }
            tickOnce();
          }
        });
  }

  private boolean appliedAnywhere(long opId) {
    for (SimNode n : nodes.values()) {
      if (n.up() && n.sm.hasApplied(opId)) {
        return true;
      }
    }
    return false;
  }

  private boolean appliedByAllMembers(long opId) {
    for (long id : members(clusterConf)) {
      SimNode n = nodes.get(id);
      if (!n.up() || !n.sm.hasApplied(opId)) {
        return false;
      }
    }
    return true;
  }

  String clusterSummary() {
    StringBuilder sb = new StringBuilder("conf ").append(SafetyChecker.describe(clusterConf));
    sb.append(", committed ").append(checker.committedIndex());
    for (SimNode n : nodes.values()) {
      sb.append("\n    ").append(n);
      if (n.up()) {
        Status s = n.raft.status();
        sb.append(" role=").append(s.softState().role()).append(" lead=");
        sb.append(s.softState().leader());
      }
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- queries

  /** The running node that is leader in the highest term, or 0. */
  long leaderId() {
    long best = 0;
    long bestTerm = -1;
    for (SimNode n : nodes.values()) {
      if (n.up() && n.role == StateRole.LEADER && n.term > bestTerm) {
        best = n.id;
        bestTerm = n.term;
      }
    }
    return best;
  }

  SimNode node(long id) {
    return nodes.get(id);
  }

  /** Running node ids, or all non-retired ones. */
  List<Long> ids(boolean upOnly) {
    List<Long> out = new ArrayList<>();
    for (SimNode n : nodes.values()) {
      if (upOnly ? n.up() : !n.retired) {
        out.add(n.id);
      }
    }
    return out;
  }

  private long pick(List<Long> ids) {
    return ids.get(rnd.nextInt(ids.size()));
  }

  private static List<Long> sorted(Collection<Long> c) {
    return new ArrayList<>(new TreeSet<>(c));
  }

  /** A fingerprint of the whole run, equal for equal seeds. */
  String fingerprint() {
    StringBuilder sb = new StringBuilder();
    sb.append("step=").append(step).append(" tick=").append(now);
    sb.append(" committed=").append(checker.committedIndex());
    sb.append(" leaders=").append(checker.leaders());
    for (SimNode n : nodes.values()) {
      sb.append(" | ").append(n);
      if (n.up()) {
        sb.append(" digest=").append(n.sm.digest());
      }
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- trace

  private void record(Object who, Object what) {
    Object[] ev = {step, now, who, what};
    trace[traceNext++ % TRACE] = ev;
    if (printTrace) {
      System.out.println(formatEvent(ev));
    }
  }

  private static String formatEvent(Object[] ev) {
    Object what = ev[3];
    String w = what instanceof Object[] arr ? Arrays.toString(arr) : String.valueOf(what);
    return "  step " + ev[0] + " tick " + ev[1] + " [" + ev[2] + "] " + w;
  }

  String recentEvents() {
    StringBuilder sb = new StringBuilder();
    int n = Math.min(traceNext, TRACE);
    for (int i = traceNext - n; i < traceNext; i++) {
      sb.append(formatEvent(trace[i % TRACE])).append('\n');
    }
    return sb.toString();
  }

  /**
   * A run ended by a known, reported issue (SIM-FINDINGS.md) in a situation the random runs could
   * not avoid. The seed runner counts and prints these; with {@code includeKnownIssues} they are
   * ordinary failures.
   */
  static final class KnownIssue extends RuntimeException {
    final String issue;

    KnownIssue(String issue, String detail) {
      super(issue + ": " + detail, null, false, false);
      this.issue = issue;
    }
  }

  /** A failure of a simulated run: names the seed and step, and shows what led to it. */
  static final class SimulationFailure extends AssertionError {
    final long seed;
    final long step;

    SimulationFailure(Simulation sim, Throwable cause) {
      super(
          "seed="
              + sim.seed
              + " step="
              + sim.step
              + " tick="
              + sim.now
              + " ("
              + sim.params.clusterSize()
              + " nodes, "
              + sim.params.mix()
              + ", "
              + sim.knobs
              + "): "
              + cause
              + "\nrerun: ./mvnw -pl etch-raft test -Dtest=SimulationTest -Detch.sim.seed="
              + sim.seed
              + " [-Detch.sim.trace=true]\nlast events:\n"
              + sim.recentEvents()
              + "cluster: "
              + safeSummary(sim),
          cause);
      this.seed = sim.seed;
      this.step = sim.step;
    }

    private static String safeSummary(Simulation sim) {
      try {
        return sim.clusterSummary();
      } catch (RuntimeException e) {
        return "(unavailable: " + e + ")";
      }
    }
  }
}
