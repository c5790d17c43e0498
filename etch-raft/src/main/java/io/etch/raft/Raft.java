package io.etch.raft;

import io.etch.raft.confchange.Changer;
import io.etch.raft.quorum.VoteResult;
import io.etch.raft.tracker.Progress;
import io.etch.raft.tracker.ProgressState;
import io.etch.raft.tracker.ProgressTracker;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The Raft protocol for one node: one object of state and one step function per role (leader,
 * candidate/pre-candidate, follower), swapped on every role change, as etcd-io/raft does. Pure: no
 * threads, clocks or I/O; output accumulates in {@link #msgs} and {@link #readStates} for {@link
 * RawNode} to hand out. Confined to the caller's thread.
 */
final class Raft {
  static final long NONE = 0;

  /** Vote context marking an election started by leader transfer (bypasses the leader lease). */
  static final byte[] CAMPAIGN_TRANSFER = "CampaignTransfer".getBytes(StandardCharsets.UTF_8);

  private enum CampaignType {
    PRE_ELECTION,
    ELECTION,
    TRANSFER
  }

  private enum Role {
    FOLLOWER,
    CANDIDATE,
    LEADER
  }

  final long id;
  long term;
  long vote;
  long lead;
  StateRole state = StateRole.FOLLOWER;
  final RaftLog log;
  final ProgressTracker trk;
  List<Message> msgs = new ArrayList<>();
  List<ReadState> readStates = new ArrayList<>();

  private final long maxMsgSize;
  private final long maxUncommittedSize;
  private long uncommittedSize;
  private final boolean checkQuorum;
  private final boolean preVote;
  private final boolean disableProposalForwarding;
  private final ReadOnlyOption readOnlyOption;
  private ReadOnly readOnly;
  private final RandomGenerator random;

  /** Leader: id of the transfer target, or NONE. */
  long leadTransferee;

  /** Index of the newest conf change that may not be applied yet; a new one waits for it. */
  long pendingConfIndex;

  /**
   * Set while this node is not a member of its applied configuration: the commit index it knew when
   * it found itself removed (at or past the removing entry); 0 while it is a member.
   */
  private long removalCommit;

  /**
   * Whether the remaining voters no longer need this removed node: it handed leadership to a voter
   * holding its whole log that reported knowing {@link #removalCommit} is committed, or it heard
   * that commit from another leader. Volatile: a removed node restarted cannot tell.
   */
  private boolean removalSettled;

  /** Read requests received before this leader committed an entry of its term. */
  private final List<Message> pendingReadIndexMessages = new ArrayList<>();

  private int electionElapsed;
  private int heartbeatElapsed;
  private final int electionTimeout;
  private final int heartbeatTimeout;
  private int randomizedElectionTimeout;
  private Role role = Role.FOLLOWER;

  Raft(Config c) {
    this.id = c.id();
    this.log = new RaftLog(c.storage(), c.maxCommittedSizePerReady());
    this.trk = new ProgressTracker(c.maxInflightMsgs(), 0);
    this.maxMsgSize = c.maxSizePerMsg();
    this.maxUncommittedSize = c.maxUncommittedEntriesSize();
    this.checkQuorum = c.checkQuorum();
    this.preVote = c.preVote();
    this.disableProposalForwarding = c.disableProposalForwarding();
    this.readOnlyOption = c.readOnlyOption();
    this.readOnly = new ReadOnly();
    this.random = c.random();
    this.electionTimeout = c.electionTick();
    this.heartbeatTimeout = c.heartbeatTick();

    Storage.InitialState init = c.storage().initialState();
    Changer.Result restored = Changer.restore(init.confState(), log.lastIndex(), trk);
    trk.reset(restored.config(), restored.progress());
    HardState hs = init.hardState();
    if (hs != null && !hs.isEmpty()) {
      loadState(hs);
    }
    if (c.applied() > 0) {
      log.appliedTo(Math.min(c.applied(), log.committed));
    }
    becomeFollower(term, NONE);
    noteMembership();
  }

  private void loadState(HardState hs) {
    if (hs.commit() < log.committed || hs.commit() > log.lastIndex()) {
      throw new IllegalStateException(
          id
              + " state.commit "
              + hs.commit()
              + " is out of range ["
              + log.committed
              + ", "
              + log.lastIndex()
              + "]");
    }
    log.committed = hs.commit();
    term = hs.term();
    vote = hs.vote();
  }

  HardState hardState() {
    return new HardState(term, vote, log.committed);
  }

  SoftState softState() {
    return new SoftState(lead, state);
  }

  // ---------------------------------------------------------------- sending

  private void send(Message m) {
    // Forwarded messages (proposals, read requests, transfer requests) keep their origin.
    Message.Builder b = m.from() == NONE ? m.toBuilder().from(id) : m.toBuilder();
    MessageType t = m.type();
    if (t == MessageType.VOTE
        || t == MessageType.VOTE_RESP
        || t == MessageType.PRE_VOTE
        || t == MessageType.PRE_VOTE_RESP) {
      if (m.term() == 0) {
        // Vote messages carry the term they are about, never implicitly ours.
        throw new IllegalStateException("term should be set when sending " + t);
      }
    } else {
      if (m.term() != 0) {
        throw new IllegalStateException("term should not be set when sending " + t);
      }
      // Proposals and read requests forwarded to the leader act as local messages there.
      if (t != MessageType.PROP && t != MessageType.READ_INDEX) {
        b.term(term);
      }
    }
    msgs.add(b.build());
  }

  /** Sends a MsgApp (or a snapshot) to {@code to} if its progress allows. */
  boolean maybeSendAppend(long to, boolean sendIfEmpty) {
    Progress pr = trk.progress(to);
    if (pr == null || pr.isPaused()) {
      return false;
    }
    long prevIndex = pr.next - 1;
    long prevTerm;
    List<Entry> ents;
    try {
      prevTerm = log.term(prevIndex);
      ents = log.entries(pr.next, maxMsgSize);
    } catch (RaftException e) {
      if (e.error() == RaftError.COMPACTED || e.error() == RaftError.UNAVAILABLE) {
        return maybeSendSnapshot(to, pr);
      }
      throw e;
    }
    if (ents.isEmpty() && !sendIfEmpty) {
      return false;
    }
    long bytes = 0;
    for (Entry e : ents) {
      bytes += e.payloadSize();
    }
    send(
        Message.builder(MessageType.APP)
            .to(to)
            .index(prevIndex)
            .logTerm(prevTerm)
            .entries(ents)
            .commit(log.committed)
            .build());
    pr.sentEntries(
        ents.size(), ents.isEmpty() ? prevIndex : ents.get(ents.size() - 1).index(), bytes);
    return true;
  }

  private boolean maybeSendSnapshot(long to, Progress pr) {
    if (!pr.recentActive) {
      return false; // not heard from recently: a snapshot would likely be wasted
    }
    Snapshot snap;
    try {
      snap = log.snapshot();
    } catch (RaftException e) {
      if (e.error() == RaftError.SNAPSHOT_TEMPORARILY_UNAVAILABLE) {
        return false;
      }
      throw e;
    }
    if (snap.isEmpty()) {
      throw new IllegalStateException("need non-empty snapshot");
    }
    send(Message.builder(MessageType.SNAP).to(to).snapshot(snap).build());
    pr.becomeSnapshot(snap.index());
    return true;
  }

  void sendAppend(long to) {
    maybeSendAppend(to, true);
  }

  private void sendHeartbeat(long to, byte[] ctx) {
    Progress pr = trk.progress(to);
    // Never tell a follower to commit past what it is known to have.
    long commit = Math.min(pr.match, log.committed);
    send(Message.builder(MessageType.HEARTBEAT).to(to).commit(commit).context(ctx).build());
  }

  void bcastAppend() {
    for (long to : trk.progressMap().keySet()) {
      if (to != id) {
        sendAppend(to);
      }
    }
  }

  private void bcastHeartbeat() {
    byte[] ctx = readOnly.lastPendingRequestContext();
    bcastHeartbeatWithCtx(ctx);
  }

  private void bcastHeartbeatWithCtx(byte[] ctx) {
    for (long to : trk.progressMap().keySet()) {
      if (to != id) {
        sendHeartbeat(to, ctx);
      }
    }
  }

  // ---------------------------------------------------------------- commit and append

  boolean maybeCommit() {
    return log.maybeCommit(trk.committed(), term);
  }

  private boolean appendEntries(List<Entry> es) {
    long li = log.lastIndex();
    List<Entry> stamped = new ArrayList<>(es.size());
    for (int i = 0; i < es.size(); i++) {
      Entry e = es.get(i);
      stamped.add(new Entry(term, li + 1 + i, e.type(), e.data()));
    }
    if (!increaseUncommittedSize(stamped)) {
      return false;
    }
    li = log.append(stamped);
    // The leader's own log counts towards commitment (thesis §10.2.1: it may persist in parallel;
    // the caller persists a Ready's entries before applying anything it commits). A leader that
    // removed itself has no progress of its own.
    Progress self = trk.progress(id);
    if (self != null) {
      self.maybeUpdate(li);
    }
    maybeCommit();
    return true;
  }

  private boolean increaseUncommittedSize(List<Entry> ents) {
    long s = 0;
    for (Entry e : ents) {
      s += e.payloadSize();
    }
    // Always admit when nothing is outstanding, so one huge entry cannot block progress forever.
    if (uncommittedSize > 0 && s > 0 && uncommittedSize + s > maxUncommittedSize) {
      return false;
    }
    uncommittedSize += s;
    return true;
  }

  void reduceUncommittedSize(List<Entry> ents) {
    if (uncommittedSize == 0) {
      return;
    }
    long s = 0;
    for (Entry e : ents) {
      s += e.payloadSize();
    }
    uncommittedSize = s > uncommittedSize ? 0 : uncommittedSize - s;
  }

  // ---------------------------------------------------------------- role changes

  private void reset(long newTerm) {
    if (term != newTerm) {
      term = newTerm;
      vote = NONE;
    }
    lead = NONE;
    electionElapsed = 0;
    heartbeatElapsed = 0;
    resetRandomizedElectionTimeout();
    abortLeaderTransfer();
    trk.resetVotes();
    long last = log.lastIndex();
    for (Map.Entry<Long, Progress> e : trk.progressMap().entrySet()) {
      Progress old = e.getValue();
      Progress pr = new Progress(0, last + 1, trk.newInflights(), old.isLearner);
      if (e.getKey() == id) {
        pr.match = last;
      }
      e.setValue(pr);
    }
    pendingConfIndex = 0;
    uncommittedSize = 0;
    readOnly = new ReadOnly();
    pendingReadIndexMessages.clear();
  }

  void becomeFollower(long newTerm, long newLead) {
    reset(newTerm);
    role = Role.FOLLOWER;
    lead = newLead;
    state = StateRole.FOLLOWER;
  }

  private void becomeCandidate() {
    if (state == StateRole.LEADER) {
      throw new IllegalStateException("invalid transition [leader -> candidate]");
    }
    reset(term + 1);
    role = Role.CANDIDATE;
    vote = id;
    state = StateRole.CANDIDATE;
  }

  private void becomePreCandidate() {
    if (state == StateRole.LEADER) {
      throw new IllegalStateException("invalid transition [leader -> pre-candidate]");
    }
    // Pre-vote changes neither term nor vote (thesis §9.6): a partitioned node cannot disrupt.
    role = Role.CANDIDATE;
    trk.resetVotes();
    lead = NONE;
    state = StateRole.PRE_CANDIDATE;
  }

  private void becomeLeader() {
    if (state == StateRole.FOLLOWER) {
      throw new IllegalStateException("invalid transition [follower -> leader]");
    }
    reset(term);
    role = Role.LEADER;
    lead = id;
    state = StateRole.LEADER;
    trk.progress(id).becomeReplicate();
    // Conservatively treat every entry not yet known applied as a possible conf change.
    pendingConfIndex = log.lastIndex();
    // The no-op of the new term (paper §8): committing it commits every earlier entry.
    appendEntries(List.of(new Entry(0, 0, EntryType.NORMAL, Entry.EMPTY)));
  }

  private void resetRandomizedElectionTimeout() {
    randomizedElectionTimeout = electionTimeout + random.nextInt(electionTimeout);
  }

  boolean pastElectionTimeout() {
    return electionElapsed >= randomizedElectionTimeout;
  }

  void abortLeaderTransfer() {
    leadTransferee = NONE;
  }

  /** A voter that is in the configuration and not waiting for a snapshot to be applied. */
  boolean promotable() {
    Progress pr = trk.progress(id);
    return pr != null && !pr.isLearner && !log.hasPendingSnapshot();
  }

  // ---------------------------------------------------------------- ticks

  void tick() {
    if (role == Role.LEADER) {
      tickHeartbeat();
    } else {
      tickElection();
    }
  }

  private void tickElection() {
    electionElapsed++;
    if (promotable() && pastElectionTimeout()) {
      electionElapsed = 0;
      step(Message.builder(MessageType.HUP).from(id).build());
    }
  }

  private void tickHeartbeat() {
    heartbeatElapsed++;
    electionElapsed++;
    if (electionElapsed >= electionTimeout) {
      electionElapsed = 0;
      if (checkQuorum) {
        step(Message.builder(MessageType.CHECK_QUORUM).from(id).build());
      }
      // A transfer that did not finish within an election timeout is abandoned.
      if (state == StateRole.LEADER && leadTransferee != NONE) {
        abortLeaderTransfer();
      }
    }
    if (state != StateRole.LEADER) {
      return;
    }
    maybeHandOffLeadership();
    if (heartbeatElapsed >= heartbeatTimeout) {
      heartbeatElapsed = 0;
      step(Message.builder(MessageType.BEAT).from(id).build());
    }
  }

  // ---------------------------------------------------------------- elections

  private void hup(CampaignType t) {
    if (state == StateRole.LEADER) {
      return;
    }
    if (!promotable()) {
      return;
    }
    if (hasUnappliedConfChanges()) {
      // A conf change committed but not applied could change who may vote.
      return;
    }
    campaign(t);
  }

  private boolean hasUnappliedConfChanges() {
    if (log.applied >= log.committed) {
      return false;
    }
    long lo = log.applied + 1;
    long hi = log.committed + 1;
    while (lo < hi) {
      List<Entry> ents;
      try {
        ents = log.slice(lo, hi, 1024 * 1024);
      } catch (RaftException e) {
        return true;
      }
      if (ents.isEmpty()) {
        return false;
      }
      for (Entry e : ents) {
        if (e.type() == EntryType.CONF_CHANGE) {
          return true;
        }
      }
      lo = ents.get(ents.size() - 1).index() + 1;
    }
    return false;
  }

  private void campaign(CampaignType t) {
    long voteTerm;
    MessageType voteMsg;
    if (t == CampaignType.PRE_ELECTION) {
      becomePreCandidate();
      voteMsg = MessageType.PRE_VOTE;
      voteTerm = term + 1; // the term we would use, without incrementing ours
    } else {
      becomeCandidate();
      voteMsg = MessageType.VOTE;
      voteTerm = term;
    }
    if (poll(id, true) == VoteResult.WON) {
      // Single voter: won on our own vote.
      if (t == CampaignType.PRE_ELECTION) {
        campaign(CampaignType.ELECTION);
      } else {
        becomeLeader();
      }
      return;
    }
    for (long to : trk.config().voters().ids()) {
      if (to == id) {
        continue;
      }
      send(
          Message.builder(voteMsg)
              .to(to)
              .term(voteTerm)
              .index(log.lastIndex())
              .logTerm(log.lastTerm())
              .context(t == CampaignType.TRANSFER ? CAMPAIGN_TRANSFER : null)
              .build());
    }
  }

  private VoteResult poll(long from, boolean granted) {
    trk.recordVote(from, granted);
    return trk.tallyVotes();
  }

  // ---------------------------------------------------------------- step

  void step(Message m) {
    if (m.term() == 0) {
      // local message (or a forwarded proposal / read request)
    } else if (m.term() > term) {
      if (m.type() == MessageType.VOTE || m.type() == MessageType.PRE_VOTE) {
        boolean force = m.context() != null && Arrays.equals(m.context(), CAMPAIGN_TRANSFER);
        boolean inLease = checkQuorum && lead != NONE && electionElapsed < electionTimeout;
        if (!force && inLease) {
          // Thesis §4.2.3: a node that heard from a leader within the minimum election timeout
          // ignores votes; a removed or partitioned node cannot disrupt the cluster.
          return;
        }
      }
      if (m.type() == MessageType.PRE_VOTE) {
        // Never change our term in response to a pre-vote.
      } else if (m.type() == MessageType.PRE_VOTE_RESP && !m.reject()) {
        // A granted pre-vote is for the term we would campaign in; the term moves once a quorum
        // grants.
      } else {
        if (m.type() == MessageType.APP
            || m.type() == MessageType.HEARTBEAT
            || m.type() == MessageType.SNAP) {
          becomeFollower(m.term(), m.from());
        } else {
          becomeFollower(m.term(), NONE);
        }
      }
    } else if (m.term() < term) {
      if ((checkQuorum || preVote || !promotable())
          && (m.type() == MessageType.HEARTBEAT || m.type() == MessageType.APP)) {
        // A stale leader (e.g. after a partition healed) learns of the newer term through this
        // response; otherwise with check-quorum/pre-vote it would never hear of it and keep
        // claiming leadership. A node that cannot campaign (a learner, a removed node) always
        // answers (paper §5.1: the response carries the current term): it would never spread its
        // term by an election, and a stale leader would replicate to it in vain forever.
        send(Message.builder(MessageType.APP_RESP).to(m.from()).build());
      } else if (m.type() == MessageType.PRE_VOTE) {
        // Reject so the pre-candidate learns the newer term instead of waiting forever.
        send(
            Message.builder(MessageType.PRE_VOTE_RESP)
                .to(m.from())
                .term(term)
                .reject(true)
                .build());
      }
      // Otherwise: ignore stale messages (paper §5.1).
      return;
    }

    switch (m.type()) {
      case HUP -> hup(preVote ? CampaignType.PRE_ELECTION : CampaignType.ELECTION);
      case VOTE, PRE_VOTE -> handleVote(m);
      default -> {
        switch (role) {
          case LEADER -> stepLeader(m);
          case CANDIDATE -> stepCandidate(m);
          case FOLLOWER -> stepFollower(m);
        }
      }
    }
  }

  private void handleVote(Message m) {
    // We can vote for the same candidate again (a duplicated request), or for anyone if we have
    // not voted and know no leader this term, or grant any pre-vote for a future term.
    boolean canVote =
        vote == m.from()
            || (vote == NONE && lead == NONE)
            || (m.type() == MessageType.PRE_VOTE && m.term() > term);
    if (canVote && log.isUpToDate(m.index(), m.logTerm())) {
      // Paper §5.4.1: grant only to candidates whose log is at least as up to date as ours. The
      // response carries the request's term so a pre-candidate can count it.
      send(Message.builder(m.type().voteResponse()).to(m.from()).term(m.term()).build());
      if (m.type() == MessageType.VOTE) {
        electionElapsed = 0;
        vote = m.from();
      }
    } else {
      send(Message.builder(m.type().voteResponse()).to(m.from()).term(term).reject(true).build());
    }
  }

  // ---------------------------------------------------------------- leader

  private void stepLeader(Message m) {
    switch (m.type()) {
      case BEAT -> {
        bcastHeartbeat();
        return;
      }
      case CHECK_QUORUM -> {
        if (!trk.quorumActive(id)) {
          // Thesis §6.2: a leader that cannot reach a quorum steps down.
          becomeFollower(term, NONE);
        }
        for (Map.Entry<Long, Progress> e : trk.progressMap().entrySet()) {
          e.getValue().recentActive = e.getKey() == id;
        }
        return;
      }
      case PROP -> {
        handleProposal(m);
        return;
      }
      case READ_INDEX -> {
        if (trk.isSingleton()) {
          respondToReadIndex(m, log.committed);
          return;
        }
        if (!committedEntryInCurrentTerm()) {
          // Thesis §6.4: until the no-op of this term commits, the commit index may be stale.
          pendingReadIndexMessages.add(m);
          return;
        }
        sendReadIndexResponse(m);
        return;
      }
      default -> {}
    }

    Progress pr = trk.progress(m.from());
    if (pr == null) {
      return; // not (or no longer) a member
    }
    if (m.type() == MessageType.APP_RESP || m.type() == MessageType.HEARTBEAT_RESP) {
      pr.commit = Math.max(pr.commit, m.commit());
    }
    switch (m.type()) {
      case APP_RESP -> {
        handleAppendResponse(m, pr);
        // A removed leader hands over as soon as a voter has its whole log and knows of the change.
        maybeHandOffLeadership();
      }
      case HEARTBEAT_RESP -> {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        maybeHandOffLeadership();
        if (pr.state == ProgressState.REPLICATE && pr.inflights.full()) {
          // The window may be clogged by lost MsgApps; make room for one more.
          pr.inflights.freeFirstOne();
        }
        if (pr.match < log.lastIndex()) {
          sendAppend(m.from());
        }
        if (readOnlyOption != ReadOnlyOption.SAFE
            || m.context() == null
            || m.context().length == 0) {
          return;
        }
        Set<Long> acks = readOnly.recvAck(m.from(), m.context());
        if (acks == null) {
          return;
        }
        Map<Long, Boolean> votes = new java.util.HashMap<>();
        for (long a : acks) {
          votes.put(a, true);
        }
        if (trk.config().voters().voteResult(votes) != VoteResult.WON) {
          return;
        }
        for (ReadOnly.Pending p : readOnly.advance(m.context())) {
          respondToReadIndex(p.request, p.index);
        }
      }
      case SNAP_STATUS -> {
        if (pr.state != ProgressState.SNAPSHOT) {
          return;
        }
        if (m.reject()) {
          pr.pendingSnapshot = 0;
        }
        pr.becomeProbe();
        // Wait for a MsgAppResp or heartbeat response before sending the next MsgApp.
        pr.msgAppFlowPaused = true;
      }
      case UNREACHABLE -> {
        if (pr.state == ProgressState.REPLICATE) {
          pr.becomeProbe();
        }
      }
      case TRANSFER_LEADER -> handleTransferLeader(m, pr);
      default -> {}
    }
  }

  private void handleProposal(Message m) {
    if (m.entries().isEmpty()) {
      throw new RaftException(RaftError.STEP_REJECTED, "stepped empty MsgProp");
    }
    Progress selfPr = trk.progress(id);
    if (selfPr == null || selfPr.isLearner) {
      // Removed from the voters (or demoted to learner): we are handing leadership over, which
      // needs a voter to catch up with a log that stops growing.
      throw new RaftException(RaftError.PROPOSAL_DROPPED, "leader is not a voter");
    }
    if (leadTransferee != NONE) {
      throw new RaftException(
          RaftError.PROPOSAL_DROPPED, "leadership transfer to " + leadTransferee + " in progress");
    }
    List<Entry> ents = m.entries();
    long confIndex = 0;
    for (int i = 0; i < ents.size(); i++) {
      Entry e = ents.get(i);
      if (e.type() != EntryType.CONF_CHANGE) {
        continue;
      }
      ConfChange cc;
      try {
        cc = ConfChange.decode(e.data());
      } catch (IllegalArgumentException ex) {
        throw new RaftException(RaftError.INVALID_CONF_CHANGE, ex.getMessage());
      }
      if (confIndex != 0) {
        throw new RaftException(
            RaftError.CONF_CHANGE_PENDING, "more than one conf change in one proposal");
      }
      validateConfChange(cc);
      confIndex = log.lastIndex() + i + 1;
    }
    if (!appendEntries(ents)) {
      throw new RaftException(RaftError.PROPOSAL_DROPPED, "too many uncommitted entries");
    }
    if (confIndex != 0) {
      // Only once the entry is really in the log: a dropped proposal must not block later ones.
      pendingConfIndex = confIndex;
    }
    bcastAppend();
  }

  /** Refuses a conf change the leader cannot accept now (one at a time; joint rules; validity). */
  private void validateConfChange(ConfChange cc) {
    boolean alreadyPending = pendingConfIndex > log.applied;
    boolean alreadyJoint = trk.config().voters().isJoint();
    boolean wantsLeaveJoint = cc.isLeaveJoint();
    if (alreadyPending) {
      throw new RaftException(
          RaftError.CONF_CHANGE_PENDING,
          "possible unapplied conf change at index "
              + pendingConfIndex
              + " (applied to "
              + log.applied
              + ")");
    }
    if (alreadyJoint && !wantsLeaveJoint) {
      throw new RaftException(
          RaftError.INVALID_CONF_CHANGE, "must transition out of joint config first");
    }
    if (!alreadyJoint && wantsLeaveJoint) {
      throw new RaftException(
          RaftError.INVALID_CONF_CHANGE, "not in joint state; refusing empty conf change");
    }
    // Dry run against the current configuration (it is the latest: nothing is pending).
    computeConfChange(cc);
  }

  private Changer.Result computeConfChange(ConfChange cc) {
    Changer changer = new Changer(trk, log.lastIndex());
    if (cc.isLeaveJoint()) {
      return changer.leaveJoint();
    }
    boolean[] joint = cc.entersJoint();
    if (joint[0]) {
      return changer.enterJoint(joint[1], cc.changes());
    }
    return changer.simple(cc.changes());
  }

  private void handleAppendResponse(Message m, Progress pr) {
    pr.recentActive = true;
    if (m.reject()) {
      // Fast back-off (thesis §5.3 optimisation): skip every entry the follower's hint rules out.
      long nextProbeIdx = m.rejectHint();
      if (m.logTerm() > 0) {
        nextProbeIdx = log.findConflictByTerm(m.rejectHint(), m.logTerm());
      }
      if (pr.maybeDecrTo(m.index(), nextProbeIdx)) {
        if (pr.state == ProgressState.REPLICATE) {
          pr.becomeProbe();
        }
        sendAppend(m.from());
      }
      return;
    }
    boolean oldPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index())) {
      return;
    }
    switch (pr.state) {
      case PROBE -> pr.becomeReplicate();
      case SNAPSHOT -> {
        if (pr.match + 1 >= log.firstIndex()) {
          // Caught up through the snapshot (or past it): replicate from the log again.
          pr.becomeProbe();
          pr.becomeReplicate();
        }
      }
      case REPLICATE -> pr.inflights.freeLE(m.index());
    }
    if (maybeCommit()) {
      releasePendingReadIndexMessages();
      bcastAppend();
    } else if (oldPaused) {
      sendAppend(m.from());
    }
    // Fill the window while entries remain.
    while (maybeSendAppend(m.from(), false)) {
      // keep sending
    }
    if (m.from() == leadTransferee && pr.match == log.lastIndex()) {
      sendTimeoutNow(m.from());
    }
  }

  private void handleTransferLeader(Message m, Progress pr) {
    if (pr.isLearner) {
      return; // a learner cannot lead
    }
    long transferee = m.from();
    if (leadTransferee != NONE) {
      if (leadTransferee == transferee) {
        return;
      }
      abortLeaderTransfer();
    }
    if (transferee == id) {
      return;
    }
    // Thesis §3.10: must finish within one election timeout.
    electionElapsed = 0;
    leadTransferee = transferee;
    if (pr.match == log.lastIndex()) {
      sendTimeoutNow(transferee);
    } else {
      sendAppend(transferee);
    }
  }

  /**
   * Thesis §4.2.2: a leader no longer among the voters leaves. Because a configuration takes effect
   * when applied (as in etcd-io/raft), a voter that has not learned that the change committed still
   * needs this node; so leadership goes only to a voter that holds the whole log <em>and</em> has
   * reported (in its responses) a commit index covering the change. That voter then uses the new
   * configuration and, holding every entry, can win without this node: from then on it is not
   * needed ({@link #removalSettled}). Until then this one keeps leading and sending the commit
   * index. TimeoutNow makes the hand-off quick; one that does not finish is retried after it times
   * out.
   */
  private void maybeHandOffLeadership() {
    Progress self = trk.progress(id);
    if (state != StateRole.LEADER || (self != null && !self.isLearner) || leadTransferee != NONE) {
      return;
    }
    // The commit index when the change was applied covers it (for a demotion: the current one).
    long needCommit = removalCommit > 0 ? removalCommit : log.committed;
    long best = NONE;
    for (long v : trk.config().voters().ids()) {
      Progress pr = trk.progress(v);
      if (v != id && pr != null && pr.match == log.lastIndex() && pr.commit >= needCommit) {
        best = v;
        break;
      }
    }
    if (best == NONE) {
      return;
    }
    electionElapsed = 0;
    leadTransferee = best;
    if (removalCommit > 0) {
      removalSettled = true;
    }
    sendTimeoutNow(best);
  }

  /**
   * Called whenever the applied configuration may have changed: notes whether this node was removed
   * (and the commit index it knew then) or is a member again.
   */
  private void noteMembership() {
    if (trk.progress(id) != null) {
      removalCommit = 0;
      removalSettled = false;
    } else if (removalCommit == 0) {
      removalCommit = Math.max(1, log.committed);
    }
  }

  /** See {@link RawNode#canRetire()}. */
  boolean canRetire() {
    return removalCommit > 0 && removalSettled;
  }

  /**
   * A follower that hears from a leader that the commit index covers its own removal knows that
   * leader no longer needs it.
   */
  private void noteLeaderCommit(long commit) {
    if (removalCommit > 0 && commit >= removalCommit) {
      removalSettled = true;
    }
  }

  private void sendTimeoutNow(long to) {
    send(Message.builder(MessageType.TIMEOUT_NOW).to(to).build());
  }

  boolean committedEntryInCurrentTerm() {
    return log.termOrZero(log.committed) == term;
  }

  private void releasePendingReadIndexMessages() {
    if (pendingReadIndexMessages.isEmpty() || !committedEntryInCurrentTerm()) {
      return;
    }
    List<Message> msgs = new ArrayList<>(pendingReadIndexMessages);
    pendingReadIndexMessages.clear();
    for (Message m : msgs) {
      sendReadIndexResponse(m);
    }
  }

  private void sendReadIndexResponse(Message m) {
    switch (readOnlyOption) {
      case SAFE -> {
        readOnly.addRequest(log.committed, m);
        // The leader's own ack counts; then one heartbeat round confirms leadership.
        readOnly.recvAck(id, m.context());
        bcastHeartbeatWithCtx(m.context());
      }
      case LEASE_BASED -> respondToReadIndex(m, log.committed);
    }
  }

  private void respondToReadIndex(Message req, long readIndex) {
    if (req.from() == NONE || req.from() == id) {
      readStates.add(new ReadState(readIndex, req.context()));
      return;
    }
    send(
        Message.builder(MessageType.READ_INDEX_RESP)
            .to(req.from())
            .index(readIndex)
            .context(req.context())
            .build());
  }

  // ---------------------------------------------------------------- candidate

  private void stepCandidate(Message m) {
    MessageType myVoteResp =
        state == StateRole.PRE_CANDIDATE ? MessageType.PRE_VOTE_RESP : MessageType.VOTE_RESP;
    switch (m.type()) {
      case PROP -> throw new RaftException(RaftError.PROPOSAL_DROPPED, "no leader");
      case APP -> {
        becomeFollower(m.term(), m.from()); // always m.term == term
        handleAppendEntries(m);
      }
      case HEARTBEAT -> {
        becomeFollower(m.term(), m.from());
        handleHeartbeat(m);
      }
      case SNAP -> {
        becomeFollower(m.term(), m.from());
        handleSnapshot(m);
      }
      case TIMEOUT_NOW -> {}
      default -> {
        if (m.type() == myVoteResp) {
          VoteResult res = poll(m.from(), !m.reject());
          if (res == VoteResult.WON) {
            if (state == StateRole.PRE_CANDIDATE) {
              campaign(CampaignType.ELECTION);
            } else {
              becomeLeader();
              bcastAppend();
            }
          } else if (res == VoteResult.LOST) {
            // A pre-candidate that lost keeps its term; a candidate stays in its new term.
            becomeFollower(term, NONE);
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- follower

  private void stepFollower(Message m) {
    switch (m.type()) {
      case PROP -> {
        if (lead == NONE) {
          throw new RaftException(RaftError.PROPOSAL_DROPPED, "no leader at term " + term);
        }
        if (disableProposalForwarding) {
          throw new RaftException(RaftError.PROPOSAL_DROPPED, "proposal forwarding disabled");
        }
        send(m.toBuilder().to(lead).build());
      }
      case APP -> {
        electionElapsed = 0;
        lead = m.from();
        handleAppendEntries(m);
      }
      case HEARTBEAT -> {
        electionElapsed = 0;
        lead = m.from();
        handleHeartbeat(m);
      }
      case SNAP -> {
        electionElapsed = 0;
        lead = m.from();
        handleSnapshot(m);
      }
      case TRANSFER_LEADER -> {
        if (lead != NONE) {
          send(m.toBuilder().to(lead).term(0).build());
        }
      }
      case TIMEOUT_NOW -> hup(CampaignType.TRANSFER);
      case READ_INDEX -> {
        if (lead == NONE) {
          return; // dropped: the caller retries
        }
        send(m.toBuilder().to(lead).build());
      }
      case READ_INDEX_RESP -> readStates.add(new ReadState(m.index(), m.context()));
      default -> {}
    }
  }

  // Responses to the leader carry this node's commit index: a leader that removed itself hands
  // leadership only to a voter known to have learned that its removal committed.
  private void handleAppendEntries(Message m) {
    noteLeaderCommit(m.commit());
    if (m.index() < log.committed) {
      send(
          Message.builder(MessageType.APP_RESP)
              .to(m.from())
              .index(log.committed)
              .commit(log.committed)
              .build());
      return;
    }
    long lastNew = log.maybeAppend(m.index(), m.logTerm(), m.commit(), m.entries());
    if (lastNew >= 0) {
      send(
          Message.builder(MessageType.APP_RESP)
              .to(m.from())
              .index(lastNew)
              .commit(log.committed)
              .build());
      return;
    }
    // Reject with a hint: the largest index whose term is ≤ the leader's term at m.index.
    long hintIndex = Math.min(m.index(), log.lastIndex());
    hintIndex = log.findConflictByTerm(hintIndex, m.logTerm());
    long hintTerm = log.termOrZero(hintIndex);
    send(
        Message.builder(MessageType.APP_RESP)
            .to(m.from())
            .index(m.index())
            .reject(true)
            .rejectHint(hintIndex)
            .logTerm(hintTerm)
            .commit(log.committed)
            .build());
  }

  private void handleHeartbeat(Message m) {
    noteLeaderCommit(m.commit());
    log.commitTo(m.commit());
    send(
        Message.builder(MessageType.HEARTBEAT_RESP)
            .to(m.from())
            .context(m.context())
            .commit(log.committed)
            .build());
  }

  private void handleSnapshot(Message m) {
    Snapshot s = m.snapshot();
    if (s != null && restore(s)) {
      send(
          Message.builder(MessageType.APP_RESP)
              .to(m.from())
              .index(log.lastIndex())
              .commit(log.committed)
              .build());
    } else {
      send(
          Message.builder(MessageType.APP_RESP)
              .to(m.from())
              .index(log.committed)
              .commit(log.committed)
              .build());
    }
  }

  /** Installs a snapshot if it is newer than our commit index; returns whether it did. */
  boolean restore(Snapshot s) {
    if (s.index() <= log.committed) {
      return false;
    }
    if (state != StateRole.FOLLOWER) {
      // Defensive: only followers receive snapshots; never let a leader lose entries.
      becomeFollower(term + 1, NONE);
      return false;
    }
    ConfState cs = s.metadata().confState();
    boolean found =
        cs.voters().contains(id) || cs.learners().contains(id) || cs.votersOutgoing().contains(id);
    if (!found) {
      // A snapshot that does not contain us cannot be ours to apply (should not happen).
      return false;
    }
    if (log.matchTerm(s.index(), s.term())) {
      // We already have the snapshot's last entry: just fast-forward the commit index.
      log.commitTo(s.index());
      return false;
    }
    log.restore(s);
    Changer.Result r = Changer.restore(cs, log.lastIndex(), trk);
    trk.reset(r.config(), r.progress());
    return true;
  }

  // ---------------------------------------------------------------- configuration

  /** Applies a committed conf change; returns the new configuration. */
  ConfState applyConfChange(ConfChange cc) {
    Changer.Result r = computeConfChange(cc);
    return switchToConfig(r);
  }

  private ConfState switchToConfig(Changer.Result r) {
    trk.reset(r.config(), r.progress());
    ConfState cs = trk.confState();
    Progress self = trk.progress(id);
    boolean removedOrDemoted = self == null || self.isLearner;
    noteMembership();
    if (state != StateRole.LEADER || cs.voters().isEmpty()) {
      return cs;
    }
    // A leader that applied its own removal or demotion keeps leading (without counting itself)
    // rather than stepping down at once: the remaining voters may not know the change committed
    // yet and would still need its vote. It hands leadership to a caught-up voter that knows of the
    // change instead (see maybeHandOffLeadership); its application stops it only once
    // RawNode#canRetire says so.
    if (removedOrDemoted) {
      maybeHandOffLeadership();
    }
    if (maybeCommit()) {
      // The configuration shrank; the new quorum may already hold more entries.
      bcastAppend();
    } else {
      for (long to : trk.progressMap().keySet()) {
        if (to != id) {
          maybeSendAppend(to, false);
        }
      }
    }
    if (leadTransferee != NONE && !trk.config().voters().contains(leadTransferee)) {
      abortLeaderTransfer();
    }
    return cs;
  }

  /** After entries up to {@code applied} were applied: auto-leave a joint configuration. */
  void appliedTo(long applied, List<Entry> committed) {
    log.appliedTo(applied);
    if (state == StateRole.LEADER) {
      reduceUncommittedSize(committed);
    }
    if (trk.config().autoLeave()
        && applied >= pendingConfIndex
        && state == StateRole.LEADER
        && trk.config().voters().isJoint()) {
      // Thesis §4.3: once C_old,new is applied the leader proposes C_new.
      ConfChange leave = ConfChange.leaveJoint();
      if (appendEntries(List.of(new Entry(0, 0, EntryType.CONF_CHANGE, leave.encode())))) {
        pendingConfIndex = log.lastIndex();
        bcastAppend();
      }
    }
  }

  Status.ProgressView view(Progress pr) {
    return new Status.ProgressView(
        pr.match, pr.next, pr.state.name(), pr.recentActive, pr.isLearner);
  }
}
