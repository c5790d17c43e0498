package io.etch.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Whole-cluster simulations, one per seed. Seed {@code s} runs a {@code 3}-node cluster if even,
 * {@code 5}-node if odd, under fault mix {@code (s / 2) % 6} (see {@link SimParams.Mix}), so a seed
 * alone says what ran.
 *
 * <ul>
 *   <li>CI: seeds 1..{@code etch.sim.seeds} (the parent pom sets 2000).
 *   <li>Soak: {@code ./mvnw -pl etch-raft test -Dtest=SimulationTest -Detch.sim.seeds=100000}, and
 *       {@code -Detch.sim.firstSeed=N} to start elsewhere.
 *   <li>One seed: {@code -Detch.sim.seed=N} (add {@code -Detch.sim.trace=true} to print every
 *       step).
 * </ul>
 */
class SimulationTest {
  /** Ticks of faults per seed; sized so the CI run of 2000 seeds stays well under a minute. */
  static final int CHAOS_TICKS = Integer.getInteger("etch.sim.ticks", 400);

  static SimParams paramsFor(long seed) {
    int size = seed % 2 == 0 ? 3 : 5;
    SimParams.Mix[] mixes = SimParams.Mix.values();
    return mixes[(int) ((seed / 2) % mixes.length)].params(size, CHAOS_TICKS);
  }

  static Simulation run(long seed) {
    return new Simulation(seed, paramsFor(seed)).run();
  }

  @TestFactory
  Stream<DynamicTest> seeds() {
    String one = System.getProperty("etch.sim.seed", "");
    if (!one.isBlank()) {
      long seed = Long.parseLong(one.trim());
      return Stream.of(
          DynamicTest.dynamicTest(
              "seed " + seed + " " + paramsFor(seed).mix() + " " + paramsFor(seed).clusterSize(),
              () -> System.out.println("seed " + seed + " passed: " + run(seed).fingerprint())));
    }
    long first = Long.getLong("etch.sim.firstSeed", 1L);
    long count = Long.parseLong(System.getProperty("etch.sim.seeds", "2000").trim());
    List<DynamicTest> tests = new ArrayList<>();
    for (SimParams.Mix mix : SimParams.Mix.values()) {
      for (int size : new int[] {3, 5}) {
        tests.add(
            DynamicTest.dynamicTest(
                size + " nodes, " + mix, () -> runGroup(first, count, mix.name(), size)));
      }
    }
    return tests.stream();
  }

  private static void runGroup(long first, long count, String mix, int size) {
    List<String> failures = new ArrayList<>();
    String firstMessage = null;
    int ran = 0;
    int failed = 0;
    List<String> knownIssues = new ArrayList<>();
    long steps = 0;
    long committed = 0;
    for (long seed = first; seed < first + count; seed++) {
      SimParams p = paramsFor(seed);
      if (!p.mix().equals(mix) || p.clusterSize() != size) {
        continue;
      }
      ran++;
      try {
        Simulation sim = run(seed);
        steps += sim.step;
        committed += sim.checker.committedIndex();
      } catch (Simulation.KnownIssue k) {
        knownIssues.add(seed + ":" + k.issue);
      } catch (Simulation.SimulationFailure f) {
        failed++;
        if (failures.size() < 20) {
          failures.add("seed=" + f.seed + " step=" + f.step + " " + invariantOf(f));
        }
        if (firstMessage == null) {
          firstMessage = f.getMessage();
        }
      }
    }
    System.out.printf(
        "sim %d nodes %-13s seeds=%d failed=%d steps=%d committed=%d%s%n",
        size,
        mix,
        ran,
        failed,
        steps,
        committed,
        knownIssues.isEmpty() ? "" : " ended by a KNOWN ISSUE (SIM-FINDINGS.md): " + knownIssues);
    if (failed > 0) {
      fail(
          failed
              + " of "
              + ran
              + " seeds failed (first 20): "
              + failures
              + "\nfirst failure:\n"
              + firstMessage);
    }
    assertThat(ran).as("seeds run").isPositive();
  }

  private static String invariantOf(Throwable f) {
    Throwable c = f.getCause();
    if (c instanceof InvariantViolation v) {
      return v.invariant();
    }
    return String.valueOf(c);
  }

  @Test
  void sameSeedReplaysExactly() {
    for (long seed : new long[] {7, 8, 10, 11}) {
      String a = run(seed).fingerprint();
      String b = run(seed).fingerprint();
      assertThat(b).as("seed %d replayed", seed).isEqualTo(a);
    }
  }
}
