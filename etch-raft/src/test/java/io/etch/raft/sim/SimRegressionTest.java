package io.etch.raft.sim;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;

/**
 * Seeds the random runs failed on, replayed as they ran. Each names its finding in SIM-FINDINGS.md.
 * A seed replays exactly only while the simulator's and the Raft core's code are unchanged, so each
 * finding also has a hand-driven twin in {@link SimScenarioTest}; a seed that passes after a fix
 * stays here as one more random run.
 */
class SimRegressionTest {
  private static void replay(long seed, boolean includeKnownIssues) {
    Simulation sim = new Simulation(seed, SimulationTest.paramsFor(seed));
    sim.includeKnownIssues = includeKnownIssues;
    try {
      sim.run();
    } catch (Simulation.KnownIssue k) {
      fail("seed " + seed + " still ends by known issue " + k.getMessage());
    }
  }

  /** F1: leader 3 removed by a joint change, steps down on applying it, then is stopped. */
  @Test
  void seed932RemovedLeaderStrandsJointConfiguration() {
    replay(932, true);
  }

  /**
   * F1: in the default mode (no removal of the current leader is proposed) a joint change is left
   * while a node it removes leads.
   */
  @Test
  void seed668LeaderLeavingAJointConfigurationStrandsIt() {
    replay(668, false);
  }
}
