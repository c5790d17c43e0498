package io.etch.raft;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The interface an application drives: feed it ticks, messages and proposals; take a {@link Ready},
 * act on it, and {@link #advance} it. Not thread-safe: one thread (the raft loop) owns it.
 *
 * <p>Caller contract, beyond {@link Ready}'s: a founding member persists {@link Bootstrap}'s
 * entries and hard state before the first RawNode; CONF_CHANGE entries are applied with {@link
 * #applyConfChange} when they are applied; and the snapshot in {@link Storage#snapshot()} that raft
 * sends to a lagging follower must describe the configuration at its index. A follower refuses a
 * snapshot whose configuration does not contain it (etcd's rule), so a member added after the last
 * snapshot needs one made afresh (etcd's server builds it at send time).
 *
 * <p>A member that applied its own removal keeps running (ticking, stepping messages, handling
 * Readies) until {@link #canRetire()} says it may stop, and may stop then. A configuration takes
 * effect when applied, so until the remaining voters learn that the change removing it committed
 * they still count its vote and acknowledgements; stopping it earlier (etcd stops a removed member
 * after a fixed delay) can leave them unable to elect anyone, for good, if the messages carrying
 * the commit index were lost. A removed leader keeps leading until a voter holds its whole log and
 * knows of the change, then hands over; a removed follower may stop once a leader told it that the
 * commit index covers the change. A removed member that was restarted cannot know this by itself
 * and keeps running until told, or until the application learns by other means (for example from
 * the remaining members) that they applied its removal.
 */
public final class RawNode {
  private final Raft raft;
  private SoftState prevSoftState;
  private HardState prevHardState;

  /** The Ready handed out and not yet advanced, or null. */
  private Ready pending;

  public RawNode(Config config) {
    this.raft = new Raft(config);
    this.prevSoftState = raft.softState();
    this.prevHardState = raft.hardState();
  }

  public long id() {
    return raft.id;
  }

  /**
   * Whether this node, having applied its own removal, may now be stopped: the remaining voters no
   * longer need it. False while it is a member. See the caller contract above.
   */
  public boolean canRetire() {
    return raft.canRetire();
  }

  /** One logical clock tick: drives elections and heartbeats. */
  public void tick() {
    raft.tick();
  }

  /** Starts an election now (if this node may campaign). */
  public void campaign() {
    raft.step(Message.builder(MessageType.HUP).from(raft.id).build());
  }

  /**
   * Proposes data to be appended to the log.
   *
   * @throws RaftException PROPOSAL_DROPPED when there is no leader, leadership is being
   *     transferred, forwarding is disabled, or too much is uncommitted
   */
  public void propose(byte[] data) {
    raft.step(
        Message.builder(MessageType.PROP)
            .from(raft.id)
            .entries(List.of(Entry.normal(0, 0, data)))
            .build());
  }

  /** Proposes several data items in one message (a batch as a busy leader receives them). */
  public void proposeBatch(List<byte[]> batch) {
    List<Entry> ents = new ArrayList<>(batch.size());
    for (byte[] d : batch) {
      ents.add(Entry.normal(0, 0, d));
    }
    raft.step(Message.builder(MessageType.PROP).from(raft.id).entries(ents).build());
  }

  /**
   * Proposes a configuration change. On the leader it is validated now.
   *
   * @throws RaftException PROPOSAL_DROPPED, CONF_CHANGE_PENDING (one change at a time), or
   *     INVALID_CONF_CHANGE
   */
  public void proposeConfChange(ConfChange cc) {
    raft.step(
        Message.builder(MessageType.PROP)
            .from(raft.id)
            .entries(List.of(new Entry(0, 0, EntryType.CONF_CHANGE, cc.encode())))
            .build());
  }

  /**
   * Applies a committed configuration change (the caller decodes it from a CONF_CHANGE entry).
   *
   * @throws RaftException INVALID_CONF_CHANGE, leaving the configuration unchanged
   */
  public ConfState applyConfChange(ConfChange cc) {
    return raft.applyConfChange(cc);
  }

  /**
   * Feeds a message from the network. Local message types are refused; responses from unknown
   * members and messages of stale terms are ignored (paper §5.1), never fatal.
   */
  public void step(Message m) {
    if (m.type().isLocal()) {
      throw new RaftException(
          RaftError.STEP_REJECTED, "cannot step raft local message " + m.type());
    }
    if (m.type().isResponse() && raft.trk.progress(m.from()) == null) {
      return; // a response from a node not in the configuration
    }
    if (m.from() == Raft.NONE && m.type() != MessageType.PROP) {
      return; // malformed: every network message names its sender
    }
    try {
      raft.step(m);
    } catch (RaftException e) {
      if (m.type() != MessageType.PROP) {
        throw e;
      }
      // A forwarded proposal that the leader cannot take: dropped, the proposer retries.
    }
  }

  /**
   * Requests a linearizable read. The answer comes as a {@link ReadState} with the same context in
   * a later Ready; the read may be served once the state machine has applied its index. Without a
   * leader the request is dropped and the caller retries.
   */
  public void readIndex(byte[] requestContext) {
    raft.step(Message.builder(MessageType.READ_INDEX).context(requestContext).build());
  }

  /** Asks the leader to hand leadership to {@code transferee} (thesis §3.10). */
  public void transferLeader(long transferee) {
    raft.step(Message.builder(MessageType.TRANSFER_LEADER).from(transferee).build());
  }

  /** The transport could not deliver to {@code id}: replicate to it by probing again. */
  public void reportUnreachable(long id) {
    raft.step(Message.builder(MessageType.UNREACHABLE).from(id).build());
  }

  /** Whether sending a snapshot to {@code id} succeeded. */
  public void reportSnapshot(long id, boolean success) {
    raft.step(Message.builder(MessageType.SNAP_STATUS).from(id).reject(!success).build());
  }

  public boolean hasReady() {
    if (pending != null) {
      return false;
    }
    if (!raft.softState().equals(prevSoftState)) {
      return true;
    }
    HardState hs = raft.hardState();
    if (!hs.isEmpty() && !hs.equals(prevHardState)) {
      return true;
    }
    if (raft.log.hasPendingSnapshot()) {
      return true;
    }
    return !raft.msgs.isEmpty()
        || !raft.log.unstable.entries.isEmpty()
        || raft.log.hasNextCommittedEnts()
        || !raft.readStates.isEmpty();
  }

  /** What the caller must do now; call {@link #advance} with it before asking again. */
  public Ready ready() {
    if (pending != null) {
      throw new IllegalStateException("ready() called again before advance()");
    }
    SoftState ss = raft.softState();
    HardState hs = raft.hardState();
    Snapshot snap = raft.log.unstable.snapshot;
    List<Entry> committed = raft.log.nextCommittedEnts();
    Ready rd =
        new Ready(
            ss.equals(prevSoftState) ? null : ss,
            hs.equals(prevHardState) ? null : hs,
            raft.readStates.isEmpty() ? List.of() : List.copyOf(raft.readStates),
            raft.log.unstableEntries(),
            snap == null ? Snapshot.EMPTY : snap,
            committed,
            raft.msgs.isEmpty() ? List.of() : raft.msgs,
            false);
    boolean mustSync =
        !rd.entries().isEmpty()
            || (rd.hardState() != null
                && (hs.term() != prevHardState.term() || hs.vote() != prevHardState.vote()));
    if (mustSync) {
      rd =
          new Ready(
              rd.softState(),
              rd.hardState(),
              rd.readStates(),
              rd.entries(),
              rd.snapshot(),
              rd.committedEntries(),
              rd.messages(),
              true);
    }
    raft.msgs = new ArrayList<>();
    raft.readStates = new ArrayList<>();
    if (rd.softState() != null) {
      prevSoftState = ss;
    }
    pending = rd;
    return rd;
  }

  /** The caller has persisted, sent and applied everything in {@code rd}. */
  public void advance(Ready rd) {
    if (rd != pending) {
      throw new IllegalStateException(
          "advance() with a Ready that was not the last one handed out");
    }
    pending = null;
    if (rd.hardState() != null) {
      prevHardState = rd.hardState();
    }
    if (!rd.entries().isEmpty()) {
      Entry last = rd.entries().get(rd.entries().size() - 1);
      raft.log.stableTo(last.index(), last.term());
    }
    if (!rd.snapshot().isEmpty()) {
      raft.log.stableSnapTo(rd.snapshot().index());
      raft.log.appliedTo(rd.snapshot().index());
    }
    if (!rd.committedEntries().isEmpty()) {
      long applied = rd.committedEntries().get(rd.committedEntries().size() - 1).index();
      raft.appliedTo(applied, rd.committedEntries());
    }
  }

  public Status status() {
    Map<Long, Status.ProgressView> prs = new TreeMap<>();
    if (raft.state == StateRole.LEADER) {
      raft.trk.progressMap().forEach((id, pr) -> prs.put(id, raft.view(pr)));
    }
    return new Status(
        raft.id,
        raft.hardState(),
        raft.softState(),
        raft.log.applied,
        raft.leadTransferee,
        raft.trk.confState(),
        prs);
  }
}
