package io.etch.raft.sim;

/**
 * The shape of one simulation run: cluster size, how long the faulty phase lasts and how hostile it
 * is. Rates are per tick unless said otherwise.
 *
 * @param clusterSize initial voters (3 or 5)
 * @param mix the name of the fault mix, for messages
 * @param chaosTicks ticks of the faulty phase
 * @param livenessTicks after healing, ticks allowed to elect a leader and commit a proposal
 * @param lossRate probability a message is lost
 * @param duplicateRate probability a message is delivered twice
 * @param maxDelay maximum delivery delay in ticks (most messages take 0-1)
 * @param partitionRate probability a partition starts (when none is in place)
 * @param crashRate probability a node crashes
 * @param maxDown most nodes down at once
 * @param snapshotRate probability a random node snapshots and compacts its log
 * @param transferRate probability of a leader transfer request
 * @param campaignRate probability a random node is told to campaign
 * @param membership whether membership changes run
 * @param writeRate expected proposals per tick
 * @param readRate expected linearizable reads per tick
 * @param tickSkipRate probability a node misses a tick (a pause)
 * @param sabotage a deliberate corruption of the checker's input, to prove the checker fails
 */
record SimParams(
    int clusterSize,
    String mix,
    int chaosTicks,
    int livenessTicks,
    double lossRate,
    double duplicateRate,
    int maxDelay,
    double partitionRate,
    double crashRate,
    int maxDown,
    double snapshotRate,
    double transferRate,
    double campaignRate,
    boolean membership,
    double writeRate,
    double readRate,
    double tickSkipRate,
    Sabotage sabotage) {

  static final int ELECTION_TICK = 10;

  /**
   * Thirty election timeouts. Without pre-vote, a candidate whose log is too short keeps resetting
   * the timer of the one voter that could win (etcd-io/raft resets a follower's timer on any higher
   * term), so elections are a coin toss per timeout; ten timeouts failed about 1 in 3000 seeds for
   * that reason alone.
   */
  static final int LIVENESS_TICKS = 30 * ELECTION_TICK;

  /** Deliberate faults in what the checker is told (never in raft itself). */
  enum Sabotage {
    NONE,
    /** Node 1's second application of a write is reported with altered data. */
    ALTER_APPLIED_ENTRY,
    /** When a leader is first seen, another node is reported as leader of the same term. */
    SECOND_LEADER,
    /** A read is served from the state machine without waiting for applied >= read index. */
    READ_BEFORE_APPLY
  }

  /** The fault mixes the seed runner cycles through. */
  enum Mix {
    CALM,
    LOSSY_NETWORK,
    PARTITIONS,
    CRASHES,
    MEMBERSHIP,
    CHAOS;

    SimParams params(int clusterSize, int chaosTicks) {
      int down = clusterSize == 3 ? 1 : 2;
      return switch (this) {
        case CALM ->
            new SimParams(
                clusterSize,
                name(),
                chaosTicks,
                LIVENESS_TICKS,
                0,
                0,
                2,
                0,
                0,
                0,
                0.03,
                0.01,
                0.002,
                false,
                1.0,
                0.5,
                0,
                Sabotage.NONE);
        case LOSSY_NETWORK ->
            new SimParams(
                clusterSize,
                name(),
                chaosTicks,
                LIVENESS_TICKS,
                0.15,
                0.08,
                10,
                0,
                0,
                0,
                0.03,
                0.01,
                0.005,
                false,
                1.0,
                0.5,
                0.02,
                Sabotage.NONE);
        case PARTITIONS ->
            new SimParams(
                clusterSize,
                name(),
                chaosTicks,
                LIVENESS_TICKS,
                0.03,
                0.02,
                5,
                0.04,
                0,
                0,
                0.03,
                0.01,
                0.005,
                false,
                1.0,
                0.5,
                0.01,
                Sabotage.NONE);
        case CRASHES ->
            new SimParams(
                clusterSize,
                name(),
                chaosTicks,
                LIVENESS_TICKS,
                0.03,
                0.02,
                4,
                0,
                0.03,
                down,
                0.06,
                0.01,
                0.005,
                false,
                1.0,
                0.5,
                0.01,
                Sabotage.NONE);
        case MEMBERSHIP ->
            new SimParams(
                clusterSize,
                name(),
                chaosTicks,
                LIVENESS_TICKS,
                0.03,
                0.02,
                4,
                0.01,
                0.01,
                1,
                0.05,
                0.02,
                0.005,
                true,
                1.0,
                0.5,
                0.01,
                Sabotage.NONE);
        case CHAOS ->
            new SimParams(
                clusterSize,
                name(),
                chaosTicks,
                LIVENESS_TICKS,
                0.08,
                0.05,
                8,
                0.03,
                0.02,
                down,
                0.05,
                0.02,
                0.01,
                true,
                1.0,
                0.5,
                0.02,
                Sabotage.NONE);
      };
    }
  }

  /** A quiet cluster for hand-driven scenarios: no random faults, no background workload. */
  static SimParams quiet(int clusterSize) {
    return new SimParams(
        clusterSize,
        "SCENARIO",
        0,
        LIVENESS_TICKS,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        false,
        0,
        0,
        0,
        Sabotage.NONE);
  }

  SimParams withSabotage(Sabotage s) {
    return new SimParams(
        clusterSize,
        mix,
        chaosTicks,
        livenessTicks,
        lossRate,
        duplicateRate,
        maxDelay,
        partitionRate,
        crashRate,
        maxDown,
        snapshotRate,
        transferRate,
        campaignRate,
        membership,
        writeRate,
        readRate,
        tickSkipRate,
        s);
  }

  SimParams withMembership(boolean m) {
    return new SimParams(
        clusterSize,
        mix,
        chaosTicks,
        livenessTicks,
        lossRate,
        duplicateRate,
        maxDelay,
        partitionRate,
        crashRate,
        maxDown,
        snapshotRate,
        transferRate,
        campaignRate,
        m,
        writeRate,
        readRate,
        tickSkipRate,
        sabotage);
  }
}
