package io.etch.server.raft;

import io.etch.raft.ConfChange;
import io.etch.raft.ConfState;
import io.etch.raft.Config;
import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import io.etch.raft.Message;
import io.etch.raft.MessageType;
import io.etch.raft.RaftError;
import io.etch.raft.RaftException;
import io.etch.raft.RawNode;
import io.etch.raft.ReadState;
import io.etch.raft.Ready;
import io.etch.raft.Snapshot;
import io.etch.raft.SoftState;
import io.etch.raft.StateRole;
import io.etch.raft.Status;
import io.etch.storage.wal.WalStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The raft loop of a member: one thread owns the {@link RawNode} and the writing side of the {@link
 * WalStorage}; every other thread reaches it through {@link #inbox}. Each turn it drains the inbox
 * (ticks, messages, proposals batched into one MsgProp, read requests), then handles one Ready: the
 * leader sends its messages before the fsync (thesis §10.2.1, safe because it counts its own log
 * only towards commits decided after this fsync returns), a follower only after; committed entries
 * go to the apply thread.
 *
 * <p>Group commit falls out of the loop: proposals arriving during an fsync wait in the inbox and
 * are persisted together by the next one.
 */
public final class RaftNode implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

  private final RawNode node;
  private final WalStorage storage;
  private final Transport transport;
  private final Applier applier;
  private final long tickNanos;
  private final LongSupplier nanoClock;
  private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
  private final Thread thread;
  private volatile boolean stopped;
  private volatile SoftState softState = new SoftState(0, StateRole.FOLLOWER);
  private volatile long term;
  private volatile long committedIndex;
  private volatile boolean canRetire;
  private volatile LongConsumer newLeaderListener = leader -> {};
  private volatile Consumer<Throwable> fatalListener = t -> {};

  // Confined to the raft loop.
  private long nextReadContext = 1;
  private final Map<ByteBuffer, List<CompletableFuture<Long>>> readsInFlight = new HashMap<>();
  private final List<CompletableFuture<Long>> readsWaiting = new ArrayList<>();
  private final long readRetryNanos;
  private final List<Proposal> heldProposals = new ArrayList<>();
  private boolean aloneCheckDone;
  private boolean snapshotWanted;
  private long heldRetryAt;
  private long readIssuedAt;

  // Raft log snapshots (etcd's snapshot-count); confined to the raft loop after start.
  private long snapshotCount = Long.MAX_VALUE;
  private long catchUpEntries;
  private Runnable persistApplied = () -> {};

  /**
   * The configuration in force after each conf change handed to apply, by entry index, from the
   * last snapshot on: a snapshot at index i records the configuration as of i.
   */
  private final TreeMap<Long, ConfState> confStates = new TreeMap<>();

  private record Proposal(byte[] data, CompletableFuture<Void> accepted) {}

  private record ConfChangeProposal(ConfChange cc, CompletableFuture<Void> accepted) {}

  private record ReadRequest(CompletableFuture<Long> index) {}

  private record Inbound(Message message) {}

  private record Control(Runnable action) {}

  /**
   * @param config raft configuration; its storage must be {@code storage}
   * @param tickMillis the heartbeat interval: one raft tick
   */
  public RaftNode(
      Config config,
      WalStorage storage,
      Transport transport,
      StateMachine stateMachine,
      long tickMillis,
      LongSupplier nanoClock) {
    this.node = new RawNode(config);
    this.storage = storage;
    this.transport = transport;
    this.applier = new Applier(stateMachine, t -> fatalListener.accept(t));
    this.tickNanos = TimeUnit.MILLISECONDS.toNanos(tickMillis);
    this.readRetryNanos = tickNanos * config.electionTick();
    this.nanoClock = nanoClock;
    this.thread = new Thread(this::run, "etch-raft-loop");
    this.thread.setDaemon(true);
  }

  /**
   * Enables raft log snapshots, as etcd's {@code --snapshot-count}: once more than {@code count}
   * entries were applied since the last snapshot, the loop records a snapshot at the applied index
   * and discards the log before it but the last {@code catchUpEntries} (etcd keeps 5000 for slow
   * followers). {@code persistApplied} must make everything applied so far durable: after the
   * snapshot a restart replays only the entries after it. Call before {@link #start()}.
   */
  public void enableSnapshots(long count, long catchUpEntries, Runnable persistApplied) {
    if (thread.isAlive()) {
      throw new IllegalStateException("enableSnapshots must be called before start");
    }
    this.snapshotCount = count;
    this.catchUpEntries = catchUpEntries;
    this.persistApplied = persistApplied;
  }

  /**
   * Who is told, on the raft loop, of every new leader this member sees: a change to a known leader
   * (etcd's {@code etcd_server_leader_changes_seen_total}); losing the leader is not a change.
   */
  public void onNewLeader(LongConsumer listener) {
    this.newLeaderListener = listener;
  }

  /**
   * Who is told when the raft loop or the apply loop stopped on an error (a failed WAL write or
   * fsync, a broken invariant, a store that cannot apply): this member can no longer make progress
   * and must stop, as etcd exits on such errors. Called once per loop, on that loop's thread.
   */
  public void onFatal(Consumer<Throwable> listener) {
    this.fatalListener = listener;
  }

  public void start() {
    confStates.put(storage.snapshot().index(), storage.initialState().confState());
    applier.start();
    thread.start();
  }

  public long id() {
    return node.id();
  }

  public SoftState softState() {
    return softState;
  }

  public boolean isLeader() {
    return softState.role() == StateRole.LEADER;
  }

  public long leader() {
    return softState.leader();
  }

  public long term() {
    return term;
  }

  /**
   * Whether this member applied its own removal and the remaining voters no longer need it ({@link
   * RawNode#canRetire()}), as of the loop's last turn.
   */
  public boolean canRetire() {
    return canRetire;
  }

  public long committedIndex() {
    return committedIndex;
  }

  public long appliedIndex() {
    return applier.appliedIndex();
  }

  public Applier applier() {
    return applier;
  }

  /** Proposes data; the future completes when raft accepted it (not when it is applied). */
  public CompletableFuture<Void> propose(byte[] data) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    inbox.add(new Proposal(data, f));
    return f;
  }

  public CompletableFuture<Void> proposeConfChange(ConfChange cc) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    inbox.add(new ConfChangeProposal(cc, f));
    return f;
  }

  /**
   * A linearizable read barrier (thesis §6.4): completes with an index once the leader confirmed
   * leadership; the caller then waits until {@link #appliedIndex()} reaches it. Reads arriving
   * while one round is in flight share the next round.
   */
  public CompletableFuture<Long> readIndex() {
    CompletableFuture<Long> f = new CompletableFuture<>();
    inbox.add(new ReadRequest(f));
    return f;
  }

  /** A message from a peer. */
  public void step(Message m) {
    inbox.add(new Inbound(m));
  }

  public void reportUnreachable(long id) {
    inbox.add(new Control(() -> node.reportUnreachable(id)));
  }

  public void reportSnapshot(long id, boolean ok) {
    inbox.add(new Control(() -> node.reportSnapshot(id, ok)));
  }

  public void transferLeader(long to) {
    inbox.add(new Control(() -> node.transferLeader(to)));
  }

  /** Runs {@code action} on the raft loop and returns its status view. */
  public CompletableFuture<Status> status() {
    CompletableFuture<Status> f = new CompletableFuture<>();
    inbox.add(new Control(() -> f.complete(node.status())));
    return f;
  }

  private void run() {
    long nextTick = nanoClock.getAsLong() + tickNanos;
    List<Object> batch = new ArrayList<>();
    List<byte[]> proposals = new ArrayList<>();
    List<CompletableFuture<Void>> proposalFutures = new ArrayList<>();
    try {
      while (!stopped) {
        long now = nanoClock.getAsLong();
        long wait = nextTick - now;
        if (!node.hasReady()) {
          Object first = wait > 0 ? inbox.poll(wait, TimeUnit.NANOSECONDS) : inbox.poll();
          if (first != null) {
            batch.add(first);
          }
        }
        inbox.drainTo(batch);
        now = nanoClock.getAsLong();
        for (Object ev : batch) {
          if (ev instanceof Proposal p) {
            proposals.add(p.data());
            proposalFutures.add(p.accepted());
          } else {
            flushProposals(proposals, proposalFutures);
            handle(ev);
          }
        }
        batch.clear();
        flushProposals(proposals, proposalFutures);
        // Messages first, then at most one tick per turn: after a stall (a slow fsync, a GC pause)
        // the heartbeats that arrived meanwhile count before time does, and missed ticks are
        // dropped rather than fired in a burst that would time out a leader who was heard from (as
        // Go's ticker drops ticks for a slow receiver in etcd).
        if (now >= nextTick) {
          node.tick();
          nextTick += tickNanos;
          if (nextTick <= now) {
            nextTick = now + tickNanos;
          }
        }
        maybeCampaignAlone();
        maybeIssueRead(now);
        if (node.hasReady()) {
          handleReady(node.ready());
        }
        maybeSnapshot();
        canRetire = node.canRetire();
        if (!heldProposals.isEmpty()
            && softState.leader() != 0
            && nanoClock.getAsLong() - heldRetryAt >= 0) {
          flushProposals(proposals, proposalFutures);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      // A raft invariant or a WAL write failed: stop rather than risk acknowledging a lost write.
      log.error("raft loop stopped: {}", t.toString(), t);
      stopped = true;
      fatalListener.accept(t);
    } finally {
      failPending(new IllegalStateException("etcdserver: server stopped"));
    }
  }

  /**
   * A member that is the only voter need not wait an election timeout to lead (etcd fast-forwards
   * its ticks for the same reason): once its configuration is applied, it campaigns at once.
   */
  private void maybeCampaignAlone() {
    if (aloneCheckDone || softState.leader() != 0) {
      return;
    }
    Status st = node.status();
    if (st.applied() < st.hardState().commit()) {
      return; // the configuration is not known until the committed entries are applied
    }
    // Decided once, at start: afterwards elections follow the ordinary timeouts.
    aloneCheckDone = true;
    if (st.confState().voters().equals(java.util.Set.of(node.id()))) {
      node.campaign();
    }
  }

  private void flushProposals(List<byte[]> proposals, List<CompletableFuture<Void>> futures) {
    if (proposals.isEmpty() && heldProposals.isEmpty()) {
      return;
    }
    if (softState.leader() == 0) {
      // etcd holds proposals while there is no leader rather than failing them: an election is
      // usually over within a timeout; the request's own deadline bounds the wait.
      for (int i = 0; i < proposals.size(); i++) {
        heldProposals.add(new Proposal(proposals.get(i), futures.get(i)));
      }
      proposals.clear();
      futures.clear();
      return;
    }
    if (!heldProposals.isEmpty()) {
      List<byte[]> p = new ArrayList<>();
      List<CompletableFuture<Void>> f = new ArrayList<>();
      for (Proposal h : heldProposals) {
        if (!h.accepted().isDone()) {
          p.add(h.data());
          f.add(h.accepted());
        }
      }
      heldProposals.clear();
      p.addAll(proposals);
      f.addAll(futures);
      proposals.clear();
      futures.clear();
      proposals.addAll(p);
      futures.addAll(f);
    }
    try {
      node.proposeBatch(proposals);
      for (CompletableFuture<Void> f : futures) {
        f.complete(null);
      }
    } catch (RaftException e) {
      if (e.error() == RaftError.PROPOSAL_DROPPED) {
        // Dropped during an election or a leadership transfer (nothing entered the log): hold
        // them for the next leader, as if none were known, and retry a tick later.
        for (int i = 0; i < proposals.size(); i++) {
          heldProposals.add(new Proposal(proposals.get(i), futures.get(i)));
        }
        heldRetryAt = nanoClock.getAsLong() + tickNanos;
      } else {
        for (CompletableFuture<Void> f : futures) {
          f.completeExceptionally(e);
        }
      }
    }
    proposals.clear();
    futures.clear();
  }

  private void handle(Object ev) {
    if (ev instanceof Inbound in) {
      node.step(in.message());
    } else if (ev instanceof ConfChangeProposal cp) {
      try {
        node.proposeConfChange(cp.cc());
        cp.accepted().complete(null);
      } catch (RaftException e) {
        cp.accepted().completeExceptionally(e);
      }
    } else if (ev instanceof ReadRequest rr) {
      readsWaiting.add(rr.index());
    } else if (ev instanceof Control c) {
      c.action().run();
    }
  }

  /** Issues one read-index round for every read waiting, unless a round is in flight. */
  private void maybeIssueRead(long now) {
    if (!readsInFlight.isEmpty() && now - readIssuedAt > readRetryNanos) {
      // The round was lost (leader change, dropped message): retry everything in a new round.
      for (List<CompletableFuture<Long>> fs : readsInFlight.values()) {
        readsWaiting.addAll(fs);
      }
      readsInFlight.clear();
    }
    if (readsWaiting.isEmpty() || !readsInFlight.isEmpty()) {
      return;
    }
    byte[] ctx = ByteBuffer.allocate(8).putLong(nextReadContext++).array();
    readsInFlight.put(ByteBuffer.wrap(ctx), new ArrayList<>(readsWaiting));
    readsWaiting.clear();
    readIssuedAt = now;
    node.readIndex(ctx);
  }

  private void handleReady(Ready rd) throws IOException {
    if (rd.softState() != null) {
      SoftState old = softState;
      softState = rd.softState();
      if (old.leader() != rd.softState().leader()) {
        log.info(
            "raft leader changed: member {} sees leader {} (was {})",
            Long.toHexString(node.id()),
            Long.toHexString(rd.softState().leader()),
            Long.toHexString(old.leader()));
        if (rd.softState().leader() != 0) {
          newLeaderListener.accept(rd.softState().leader());
        }
      }
    }
    boolean leader = softState.role() == StateRole.LEADER;
    List<Message> messages = withoutStaleSnapshots(rd.messages());
    if (leader) {
      transport.send(messages);
    }
    // Committed entries this member already holds durably go to apply before this Ready's fsync,
    // as etcd's raft loop hands them to apply before it saves: a put committed by the last round of
    // acks is applied (and answered) while the next batch is fsynced, instead of after it. Only
    // entries below both the first entry this Ready writes (a follower may be replacing an
    // uncommitted suffix) and the last index already saved qualify, so the store never gets ahead
    // of the WAL (DESIGN: "after a crash it replays WAL entries past its consistent index").
    List<Entry> committed = rd.committedEntries();
    if (rd.snapshot().isEmpty() && !committed.isEmpty()) {
      long durable = storage.lastIndex();
      if (!rd.entries().isEmpty()) {
        durable = Math.min(durable, rd.entries().get(0).index() - 1);
      }
      int n = 0;
      while (n < committed.size() && committed.get(n).index() <= durable) {
        n++;
      }
      if (n > 0) {
        List<Entry> early = n == committed.size() ? committed : committed.subList(0, n);
        submitCommitted(Snapshot.EMPTY, early);
        committed = n == committed.size() ? List.of() : committed.subList(n, committed.size());
      }
    }
    if (!rd.snapshot().isEmpty()) {
      storage.applySnapshot(rd.snapshot());
      confStates.clear();
      confStates.put(rd.snapshot().index(), rd.snapshot().metadata().confState());
    }
    storage.save(
        rd.hardState() == null ? io.etch.raft.HardState.EMPTY : rd.hardState(),
        rd.entries(),
        rd.mustSync());
    if (rd.hardState() != null) {
      term = rd.hardState().term();
      committedIndex = rd.hardState().commit();
    }
    if (!leader) {
      transport.send(messages);
    }
    if (!rd.snapshot().isEmpty() || !committed.isEmpty()) {
      submitCommitted(rd.snapshot(), committed);
    }
    for (ReadState rs : rd.readStates()) {
      List<CompletableFuture<Long>> fs = readsInFlight.remove(ByteBuffer.wrap(rs.requestContext()));
      if (fs != null) {
        for (CompletableFuture<Long> f : fs) {
          f.complete(rs.index());
        }
      }
    }
    node.advance(rd);
  }

  /**
   * Hands committed entries (and a snapshot to install first) to the apply thread. Conf changes
   * update raft's configuration here, on the loop that owns it; the apply thread records membership
   * in the store.
   */
  private void submitCommitted(Snapshot snapshot, List<Entry> committed) {
    for (Entry e : committed) {
      if (e.type() == EntryType.CONF_CHANGE) {
        ConfState before = confStates.lastEntry().getValue();
        try {
          ConfChange cc = ConfChange.decode(e.data());
          if (demotesVoter(before, cc)) {
            // The membership refuses it (the member exists): leave raft's configuration alone.
            confStates.put(e.index(), before);
          } else {
            confStates.put(e.index(), node.applyConfChange(cc));
          }
        } catch (RaftException | IllegalArgumentException ex) {
          log.warn("ignored invalid conf change at index {}: {}", e.index(), ex.getMessage());
          confStates.put(e.index(), before);
        }
      }
    }
    applier.submit(snapshot, committed);
  }

  /**
   * Leaves out snapshots for members their configuration does not contain (added after the last
   * snapshot): the member would refuse them. A fresh snapshot is made instead (as etcd makes one at
   * send time) and raft is told this send failed, so it sends again with the new one.
   */
  private List<Message> withoutStaleSnapshots(List<Message> messages) {
    List<Message> out = null;
    for (int i = 0; i < messages.size(); i++) {
      Message m = messages.get(i);
      if (m.type() == MessageType.SNAP && !contains(m.snapshot().metadata().confState(), m.to())) {
        if (out == null) {
          out = new ArrayList<>(messages.subList(0, i));
        }
        snapshotWanted = true;
        long to = m.to();
        inbox.add(new Control(() -> node.reportSnapshot(to, false)));
      } else if (out != null) {
        out.add(m);
      }
    }
    return out == null ? messages : out;
  }

  private static boolean contains(ConfState cs, long id) {
    return cs.voters().contains(id)
        || cs.learners().contains(id)
        || cs.votersOutgoing().contains(id)
        || cs.learnersNext().contains(id);
  }

  /**
   * Whether a committed change would add a voter as a learner. The membership refuses adding a
   * member that exists, and raft treats every other such change as a no-op (re-adding a voter,
   * removing or updating an unknown node); only this one would change raft's configuration (demote
   * the voter), so the raft loop leaves it out and both sides agree.
   */
  static boolean demotesVoter(ConfState cs, ConfChange cc) {
    for (ConfChange.ConfChangeSingle c : cc.changes()) {
      if (c.type() == io.etch.raft.ConfChangeType.ADD_LEARNER_NODE
          && (cs.voters().contains(c.nodeId()) || cs.votersOutgoing().contains(c.nodeId()))) {
        return true;
      }
    }
    return false;
  }

  /**
   * etcd's {@code triggerSnapshot}: a snapshot at the applied index once more than snapshot-count
   * entries were applied since the last one, then the log is compacted up to {@code catchUpEntries}
   * before it. The store is made durable first: entries the snapshot covers are never replayed.
   */
  private void maybeSnapshot() throws IOException {
    long snapshotIndex = storage.snapshot().index();
    long applied = applier.appliedIndex();
    boolean forced = snapshotWanted && applied > snapshotIndex;
    if (applied - snapshotIndex <= snapshotCount && !forced) {
      return;
    }
    snapshotWanted = false;
    persistApplied.run();
    Map.Entry<Long, ConfState> cs = confStates.floorEntry(applied);
    storage.createSnapshot(applied, cs.getValue(), io.etch.raft.Entry.EMPTY);
    confStates.headMap(cs.getKey()).clear();
    long compactIndex = applied > catchUpEntries ? applied - catchUpEntries : 1;
    if (compactIndex > storage.firstIndex() - 1) {
      storage.compact(compactIndex);
    }
    log.info(
        "saved raft snapshot at applied index {}; log compacted to index {}",
        applied,
        storage.firstIndex() - 1);
  }

  private void failPending(Exception e) {
    for (List<CompletableFuture<Long>> fs : readsInFlight.values()) {
      fs.forEach(f -> f.completeExceptionally(e));
    }
    readsWaiting.forEach(f -> f.completeExceptionally(e));
    heldProposals.forEach(p -> p.accepted().completeExceptionally(e));
    Object ev;
    while ((ev = inbox.poll()) != null) {
      if (ev instanceof Proposal p) {
        p.accepted().completeExceptionally(e);
      } else if (ev instanceof ReadRequest r) {
        r.index().completeExceptionally(e);
      } else if (ev instanceof ConfChangeProposal cp) {
        cp.accepted().completeExceptionally(e);
      }
    }
  }

  public boolean isRunning() {
    return !stopped && thread.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    stopped = true;
    thread.join(5_000);
    applier.close();
  }
}
