package io.etch.jepsen.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.maintenance.HashKVResponse;
import io.etcd.jetcd.maintenance.StatusResponse;
import io.etch.jepsen.checker.History;
import io.etch.jepsen.checker.LinearizabilityChecker;
import io.etch.jepsen.checker.Op;
import io.etch.jepsen.checker.WatchChecker;
import io.etch.jepsen.checker.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Jepsen-style: three real etch processes, concurrent jetcd clients and watches, and a nemesis that
 * takes in turn: SIGKILL a member (leader or follower) and restart it, SIGSTOP/SIGCONT one,
 * partition one through the peer proxies, SIGKILL all three and restart them. At the end everything
 * is healed, the members must converge to the same revision and KV hash, and the recorded history
 * must be linearizable, the watches ordered, unique and gap-free, and no acknowledged write lost.
 *
 * <p>{@code -Detch.jepsen.seconds=N} sets the workload's length (a soak), {@code
 * -Detch.jepsen.seed=S} replays a run's random choices, {@code -Detch.jepsen.report=DIR} says where
 * the history and report go (default {@code target/jepsen/<time>}), {@code -Detch.jepsen.keys=K}
 * spreads the workload over K keys (default 8; more keep a long soak's ops per key within what the
 * checker decides quickly).
 */
class ClusterFaultTest {
  private static final Logger log = LoggerFactory.getLogger(ClusterFaultTest.class);
  static final int MEMBERS = 3;
  static final int PROCESSES_PER_MEMBER = 2;
  static final Duration OP_TIMEOUT = Duration.ofSeconds(2);

  @TempDir Path dir;
  ProcessCluster cluster;
  final List<Client> admin = new ArrayList<>();
  final List<String> faults = new CopyOnWriteArrayList<>();

  static long longProperty(String name, long dflt) {
    String v = System.getProperty(name);
    return v == null || v.isBlank() ? dflt : Long.parseLong(v.trim());
  }

  @AfterEach
  void tearDown() {
    admin.forEach(Client::close);
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void historyIsLinearizableAndWatchesAreCompleteUnderKillsPausesAndPartitions() throws Exception {
    long seconds = longProperty("etch.jepsen.seconds", 60);
    long seed = longProperty("etch.jepsen.seed", System.currentTimeMillis());
    String reportProp = System.getProperty("etch.jepsen.report");
    Path report =
        reportProp == null || reportProp.isBlank()
            ? Path.of("target", "jepsen", Instant.now().toString().replace(':', '-'))
            : Path.of(reportProp);
    Files.createDirectories(report);
    log.info("seed {} for {} s; report in {}", seed, seconds, report.toAbsolutePath());
    long testStart = System.nanoTime();

    cluster = new ProcessCluster(dir, report, MEMBERS, System.getProperty("java.class.path"));
    cluster.startAll();
    for (int i = 0; i < MEMBERS; i++) {
      cluster.awaitClientPort(i, Duration.ofSeconds(60));
      admin.add(Workload.client(cluster.member(i).clientUrl()));
    }
    Map<Long, Integer> memberIndex = awaitMembersAndLeader();

    Workload workload = new Workload((int) longProperty("etch.jepsen.keys", 8), OP_TIMEOUT);
    // Watches from revision 1 on every member, open for the whole run.
    List<WatchRecorder> watches = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      ProcessCluster.Member m = cluster.member(i);
      watches.add(new WatchRecorder("watch@" + m.name(), m.clientPort(), Workload.PREFIX, 1));
    }

    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Thread> threads = new ArrayList<>();
    SplittableRandom seeds = new SplittableRandom(seed);
    for (int p = 0; p < MEMBERS * PROCESSES_PER_MEMBER; p++) {
      int process = p;
      String endpoint = cluster.member(p % MEMBERS).clientUrl();
      long s = seeds.nextLong();
      Thread t =
          new Thread(() -> workload.runProcess(process, endpoint, s, until), "client-" + process);
      t.start();
      threads.add(t);
    }
    Thread nemesis =
        new Thread(() -> runNemesis(new SplittableRandom(seeds.nextLong()), until, memberIndex));
    nemesis.setName("nemesis");
    nemesis.start();
    for (Thread t : threads) {
      t.join();
    }
    nemesis.join();

    // Heal everything and let the members converge.
    cluster.healAll();
    for (int i = 0; i < MEMBERS; i++) {
      cluster.awaitClientPort(i, Duration.ofSeconds(60));
    }
    long revision = awaitConvergence(Duration.ofSeconds(90));

    // Final linearizable reads are part of the history.
    Map<String, String> finalRead = new TreeMap<>();
    try (Client c = Workload.client(cluster.member(0).clientUrl())) {
      for (String key : workload.keys) {
        Op op = workload.get(c.getKVClient(), 1000, key);
        assertThat(op.outcome()).as("final read of %s", key).isEqualTo(Op.Outcome.OK);
        finalRead.put(key, op.read());
      }
    }
    // A replay from revision 1 on every member: all the same, and the reference for the checks.
    List<List<WatchEvent>> replays = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      replays.add(replay(cluster.member(i), revision));
    }
    // Liveness: once healed, every watch opened during the run catches up with the final revision.
    List<String> stalled = new ArrayList<>();
    long watchDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    for (WatchRecorder w : watches) {
      while (w.lastRevision() < revision && System.nanoTime() < watchDeadline) {
        Thread.sleep(100);
      }
      if (w.lastRevision() < revision) {
        stalled.add(w.name + " stalled at revision " + w.lastRevision() + " of " + revision);
      }
      w.close();
      Files.write(
          report.resolve(w.name.replace('@', '-') + ".txt"),
          w.events.stream().map(WatchEvent::toString).toList());
    }
    List<Op> history = workload.history();
    History.write(report.resolve("history.tsv"), history);
    for (int i = 0; i < MEMBERS; i++) {
      Files.write(
          report.resolve("replay-" + cluster.member(i).name() + ".txt"),
          replays.get(i).stream().map(WatchEvent::toString).toList());
    }

    long checkStart = System.nanoTime();
    LinearizabilityChecker.Result lin = new LinearizabilityChecker().check(history);
    long linMs = (System.nanoTime() - checkStart) / 1_000_000;
    List<WatchChecker.Stream> streams = watches.stream().map(WatchRecorder::stream).toList();
    WatchChecker.Result watch = WatchChecker.check(history, replays.get(0), streams, finalRead);

    Map<Op.Outcome, Long> outcomes = new TreeMap<>();
    Map<Op.Type, Long> types = new TreeMap<>();
    for (Op op : history) {
      outcomes.merge(op.outcome(), 1L, Long::sum);
      types.merge(op.type(), 1L, Long::sum);
    }
    List<String> lines = new ArrayList<>();
    lines.add("seed " + seed + ", workload " + seconds + " s, " + history.size() + " ops");
    lines.add("outcomes " + outcomes + ", types " + types);
    lines.add("final revision " + revision);
    lines.add("faults (" + faults.size() + "):");
    faults.forEach(f -> lines.add("  " + f));
    lines.add("errors seen by clients:");
    new TreeMap<>(workload.errors).forEach((k, v) -> lines.add("  " + v + "  " + k));
    lines.add(
        "linearizability: " + lin.verdict() + " over " + lin.ops() + " ops in " + linMs + " ms");
    for (LinearizabilityChecker.KeyResult k : lin.keys()) {
      lines.add(
          "  "
              + k.key()
              + " "
              + k.verdict()
              + " ops="
              + k.ops()
              + " configurations="
              + k.configurations()
              + (k.explanation().isEmpty() ? "" : "\n    " + k.explanation()));
    }
    lines.add(
        "watch: "
            + (watch.ok() ? "OK" : "VIOLATIONS")
            + ", streams "
            + watch.streams()
            + " ("
            + watches.stream().map(w -> w.name + "=" + w.events.size()).toList()
            + " events), events checked "
            + watch.eventsChecked()
            + ", acknowledged writes "
            + watch.acknowledgedWrites()
            + ", lost "
            + watch.lost());
    watch.violations().forEach(v -> lines.add("  " + v));
    stalled.forEach(v -> lines.add("  " + v));
    for (WatchRecorder w : watches) {
      lines.add(
          "  "
              + w.name
              + ": "
              + w.events.size()
              + " events, last revision "
              + w.lastRevision()
              + ", opened "
              + w.opens()
              + " times; errors "
              + w.errors());
    }
    lines.add("total " + (System.nanoTime() - testStart) / 1_000_000 + " ms");
    Files.write(report.resolve("report.txt"), lines, StandardCharsets.UTF_8);
    lines.forEach(l -> log.info("{}", l));

    // The run did something: faults happened and operations succeeded through them.
    assertThat(faults).as("faults injected").isNotEmpty();
    assertThat(outcomes.getOrDefault(Op.Outcome.OK, 0L)).as("ok ops").isGreaterThan(100);
    for (int i = 1; i < MEMBERS; i++) {
      assertThat(replays.get(i)).as("replay of member %d vs member 0", i).isEqualTo(replays.get(0));
    }
    assertThat(lin.violations()).as("linearizability violations (see %s)", report).isEmpty();
    assertThat(lin.unknowns()).as("keys the checker could not decide").isEmpty();
    assertThat(watch.lost()).as("acknowledged writes lost").isZero();
    assertThat(watch.violations()).as("watch violations (see %s)", report).isEmpty();
    assertThat(stalled).as("watches that stopped delivering (see %s)", report).isEmpty();
  }

  /** Waits for every member to answer status and one of them to be leader; maps ids to indexes. */
  Map<Long, Integer> awaitMembersAndLeader() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      Map<Long, Integer> ids = new HashMap<>();
      long leader = 0;
      for (int i = 0; i < MEMBERS; i++) {
        StatusResponse st = status(i);
        if (st != null) {
          ids.put(st.getHeader().getMemberId(), i);
          leader = st.getLeader() != 0 ? st.getLeader() : leader;
        }
      }
      if (ids.size() == MEMBERS && leader != 0) {
        return ids;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("cluster did not form with a leader");
  }

  StatusResponse status(int i) {
    try {
      return admin
          .get(i)
          .getMaintenanceClient()
          .statusMember(cluster.member(i).clientUrl())
          .get(1, TimeUnit.SECONDS);
    } catch (Exception e) {
      return null;
    }
  }

  /** The member index of the current leader as some reachable member sees it, or -1. */
  int leader(Map<Long, Integer> memberIndex) {
    for (int i = 0; i < MEMBERS; i++) {
      if (cluster.isRunning(i) && !cluster.isPaused(i) && !cluster.isPartitioned(i)) {
        StatusResponse st = status(i);
        if (st != null && st.getLeader() != 0) {
          return memberIndex.getOrDefault(st.getLeader(), -1);
        }
      }
    }
    return -1;
  }

  void runNemesis(SplittableRandom random, long until, Map<Long, Integer> memberIndex) {
    long start = System.nanoTime();
    try {
      sleepMs(2000);
      // Killing every member comes last in each round: on a slow machine its recovery can take
      // most of a short run, which would then see little else.
      int firstKind = random.nextInt(3);
      int faultCount = 0;
      while (System.nanoTime() < until - TimeUnit.SECONDS.toNanos(4)) {
        int leader = leader(memberIndex);
        boolean targetLeader = random.nextBoolean() && leader >= 0;
        int target = targetLeader ? leader : pickOther(random, leader);
        String role = target == leader ? "leader" : "follower";
        String name = cluster.member(target).name();
        long ms = 1000 + random.nextInt(2000);
        long at = (System.nanoTime() - start) / 1_000_000;
        // Kinds in turn, so even a short run sees each: the three single-member faults from a
        // random first one, then killing every member.
        int step = faultCount++ % 4;
        switch (step == 3 ? 3 : (firstKind + step) % 3) {
          case 0 -> {
            faults.add(at + " ms: kill -9 " + role + " " + name + ", restart after " + ms + " ms");
            cluster.kill(target);
            sleepMs(ms);
            cluster.start(target);
          }
          case 3 -> {
            // Durability: nothing acknowledged may be lost even when every member dies at once.
            faults.add(at + " ms: kill -9 all members, restart after " + ms + " ms");
            for (int i = 0; i < MEMBERS; i++) {
              cluster.kill(i);
            }
            sleepMs(ms);
            for (int i = 0; i < MEMBERS; i++) {
              cluster.start(i);
            }
          }
          case 1 -> {
            faults.add(at + " ms: SIGSTOP " + role + " " + name + " for " + ms + " ms");
            cluster.pause(target);
            sleepMs(ms);
            cluster.resume(target);
          }
          default -> {
            faults.add(at + " ms: partition " + role + " " + name + " for " + ms + " ms");
            cluster.partition(target);
            sleepMs(ms);
            // Evidence the partition isolates: the majority's view of the leader before healing.
            int majority = (target + 1) % MEMBERS;
            int seen = leaderSeenBy(majority, memberIndex);
            int last = faults.size() - 1;
            faults.set(
                last,
                faults.get(last)
                    + " (then "
                    + cluster.member(majority).name()
                    + " saw leader "
                    + (seen < 0 ? "none" : cluster.member(seen).name())
                    + ")");
            cluster.heal(target);
          }
        }
        // Let the cluster recover before the next fault: every member serving and a leader
        // elected (a restarted JVM takes seconds, more on a loaded machine), then a quiet spell.
        // (Not past the workload's end: the final convergence check waits for the rest.)
        long left = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(until - System.nanoTime()));
        long recovery = awaitHealthy(memberIndex, Duration.ofSeconds(Math.min(60, left)));
        int last = faults.size() - 1;
        faults.set(last, faults.get(last) + "; healthy again " + recovery + " ms after healing");
        sleepMs(2000 + random.nextInt(2000));
      }
    } catch (Exception e) {
      faults.add("nemesis failed: " + e);
      log.error("nemesis failed", e);
    }
  }

  /** Waits until every member answers status and they agree on a leader; returns the wait. */
  long awaitHealthy(Map<Long, Integer> memberIndex, Duration timeout) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Long leader = null;
      boolean healthy = true;
      for (int i = 0; i < MEMBERS && healthy; i++) {
        StatusResponse st = status(i);
        healthy = st != null && st.getLeader() != 0 && (leader == null || leader == st.getLeader());
        leader = st == null ? null : st.getLeader();
      }
      if (healthy) {
        break;
      }
      Thread.sleep(100);
    }
    return (System.nanoTime() - start) / 1_000_000;
  }

  int leaderSeenBy(int i, Map<Long, Integer> memberIndex) {
    StatusResponse st = status(i);
    return st == null ? -1 : memberIndex.getOrDefault(st.getLeader(), -1);
  }

  static int pickOther(SplittableRandom random, int leader) {
    int t;
    do {
      t = random.nextInt(MEMBERS);
    } while (t == leader && leader >= 0);
    return t;
  }

  /**
   * Waits until every member reports the same revision and raft applied index, and the same KV hash
   * at that revision; returns the revision.
   */
  long awaitConvergence(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      long rev = -1;
      boolean same = true;
      List<String> seen = new ArrayList<>();
      for (int i = 0; i < MEMBERS && same; i++) {
        StatusResponse st = status(i);
        if (st == null) {
          same = false;
          seen.add(cluster.member(i).name() + ": no status");
          break;
        }
        long r = st.getHeader().getRevision();
        seen.add(cluster.member(i).name() + ": rev " + r + " raft " + st.getRaftIndex());
        same = rev < 0 || rev == r;
        rev = r;
      }
      if (same && rev > 0) {
        Integer hash = null;
        for (int i = 0; i < MEMBERS && same; i++) {
          try {
            HashKVResponse h =
                admin
                    .get(i)
                    .getMaintenanceClient()
                    .hashKV(cluster.member(i).clientUrl(), rev)
                    .get(5, TimeUnit.SECONDS);
            seen.add(cluster.member(i).name() + ": hash " + h.getHash());
            same = hash == null || hash == h.getHash();
            hash = h.getHash();
          } catch (Exception e) {
            seen.add(cluster.member(i).name() + ": hashKV " + EtcdErrors.label(e));
            same = false;
          }
        }
        if (same) {
          log.info("members converged: {}", seen);
          return rev;
        }
      }
      last = seen.toString();
      Thread.sleep(500);
    }
    throw new AssertionError("members did not converge within " + timeout + ": " + last);
  }

  /** Every event in the key space from revision 1 to {@code revision}, as member m replays it. */
  static List<WatchEvent> replay(ProcessCluster.Member m, long revision)
      throws InterruptedException {
    try (WatchRecorder w =
        new WatchRecorder("replay@" + m.name(), m.clientPort(), Workload.PREFIX, 1)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (w.lastRevision() < revision && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      if (w.lastRevision() < revision) {
        log.warn("replay on {} incomplete: up to revision {}", m.name(), w.lastRevision());
      }
      return List.copyOf(w.events);
    }
  }

  static void sleepMs(long ms) throws InterruptedException {
    Thread.sleep(ms);
  }
}
