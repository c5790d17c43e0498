package io.etch.raft;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Parameters of one raft node. Build with {@link #builder(long, Storage, RandomGenerator)}.
 *
 * @param id this node's id, never 0
 * @param electionTick ticks a follower waits without hearing from a leader before campaigning; the
 *     actual timeout is randomized in {@code [electionTick, 2*electionTick)}
 * @param heartbeatTick ticks between leader heartbeats
 * @param applied the last applied index at restart (entries at or below it are not re-delivered)
 * @param maxSizePerMsg byte limit of the entries in one MsgApp (at least one entry is sent)
 * @param maxCommittedSizePerReady byte limit of committed entries in one Ready
 * @param maxUncommittedEntriesSize leader's limit on the payload bytes of uncommitted entries;
 *     proposals past it are dropped (0: no limit)
 * @param maxInflightMsgs MsgApps in flight to one follower in replicate state
 * @param checkQuorum a leader steps down if it has not heard from a quorum in an election timeout
 * @param preVote run a pre-vote phase before incrementing the term (thesis §9.6)
 * @param readOnlyOption how read index confirms leadership
 * @param disableProposalForwarding followers drop proposals instead of forwarding them
 * @param random the only source of randomness (election jitter)
 */
public record Config(
    long id,
    int electionTick,
    int heartbeatTick,
    Storage storage,
    long applied,
    long maxSizePerMsg,
    long maxCommittedSizePerReady,
    long maxUncommittedEntriesSize,
    int maxInflightMsgs,
    boolean checkQuorum,
    boolean preVote,
    ReadOnlyOption readOnlyOption,
    boolean disableProposalForwarding,
    RandomGenerator random) {

  public Config {
    if (id == 0) {
      throw new IllegalArgumentException("cannot use none as id");
    }
    if (heartbeatTick <= 0) {
      throw new IllegalArgumentException("heartbeat tick must be greater than 0");
    }
    if (electionTick <= heartbeatTick) {
      throw new IllegalArgumentException("election tick must be greater than heartbeat tick");
    }
    Objects.requireNonNull(storage, "storage cannot be null");
    Objects.requireNonNull(random, "random cannot be null");
    if (maxInflightMsgs <= 0) {
      throw new IllegalArgumentException("max inflight messages must be greater than 0");
    }
    if (maxSizePerMsg <= 0) {
      maxSizePerMsg = Long.MAX_VALUE;
    }
    if (maxCommittedSizePerReady <= 0) {
      maxCommittedSizePerReady = maxSizePerMsg;
    }
    if (maxUncommittedEntriesSize <= 0) {
      maxUncommittedEntriesSize = Long.MAX_VALUE;
    }
    if (readOnlyOption == ReadOnlyOption.LEASE_BASED && !checkQuorum) {
      throw new IllegalArgumentException(
          "CheckQuorum must be enabled when ReadOnlyOption is LEASE_BASED");
    }
  }

  public static Builder builder(long id, Storage storage, RandomGenerator random) {
    return new Builder(id, storage, random);
  }

  /**
   * Builder with etcd's defaults: election 10 ticks, heartbeat 1, 1 MiB messages, 256 in flight.
   */
  public static final class Builder {
    private final long id;
    private final Storage storage;
    private final RandomGenerator random;
    private int electionTick = 10;
    private int heartbeatTick = 1;
    private long applied;
    private long maxSizePerMsg = 1024 * 1024;
    private long maxCommittedSizePerReady;
    private long maxUncommittedEntriesSize = 1L << 30;
    private int maxInflightMsgs = 256;
    private boolean checkQuorum = true;
    private boolean preVote = true;
    private ReadOnlyOption readOnlyOption = ReadOnlyOption.SAFE;
    private boolean disableProposalForwarding;

    private Builder(long id, Storage storage, RandomGenerator random) {
      this.id = id;
      this.storage = storage;
      this.random = random;
    }

    public Builder electionTick(int v) {
      electionTick = v;
      return this;
    }

    public Builder heartbeatTick(int v) {
      heartbeatTick = v;
      return this;
    }

    public Builder applied(long v) {
      applied = v;
      return this;
    }

    public Builder maxSizePerMsg(long v) {
      maxSizePerMsg = v;
      return this;
    }

    public Builder maxCommittedSizePerReady(long v) {
      maxCommittedSizePerReady = v;
      return this;
    }

    public Builder maxUncommittedEntriesSize(long v) {
      maxUncommittedEntriesSize = v;
      return this;
    }

    public Builder maxInflightMsgs(int v) {
      maxInflightMsgs = v;
      return this;
    }

    public Builder checkQuorum(boolean v) {
      checkQuorum = v;
      return this;
    }

    public Builder preVote(boolean v) {
      preVote = v;
      return this;
    }

    public Builder readOnlyOption(ReadOnlyOption v) {
      readOnlyOption = v;
      return this;
    }

    public Builder disableProposalForwarding(boolean v) {
      disableProposalForwarding = v;
      return this;
    }

    public Config build() {
      return new Config(
          id,
          electionTick,
          heartbeatTick,
          storage,
          applied,
          maxSizePerMsg,
          maxCommittedSizePerReady,
          maxUncommittedEntriesSize,
          maxInflightMsgs,
          checkQuorum,
          preVote,
          readOnlyOption,
          disableProposalForwarding,
          random);
    }
  }
}
