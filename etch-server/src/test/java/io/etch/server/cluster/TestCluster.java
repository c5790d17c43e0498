package io.etch.server.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.etch.server.maintenance.TestServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Members of one etch cluster in this JVM over loopback sockets, for tests: start (in parallel, as
 * a real cluster's members start), kill, restart with data kept, add a member that joins with
 * {@code --initial-cluster-state existing}, partition through the peer transport, and check that
 * every member holds the same data.
 */
final class TestCluster implements AutoCloseable {
  final Path dir;

  /** Where the members' data directories are (a fresh one per start attempt). */
  Path dataRoot;

  final List<EtchServer> members = new ArrayList<>();
  final List<Integer> clientPorts = new ArrayList<>();
  final List<Integer> peerPorts = new ArrayList<>();
  final List<String> extraFlags;
  final List<Client> clients = new ArrayList<>();
  final EtchServer.Tuning tuning;
  final String peerScheme;
  java.util.function.IntFunction<List<String>> memberFlags;

  /** Runs before the members start, once their ports are chosen (a restore fills data dirs). */
  interface BeforeStart {
    void prepare(TestCluster c) throws Exception;
  }

  private BeforeStart beforeStart = c -> {};

  /** A cluster whose data directories {@code beforeStart} prepares before the members start. */
  TestCluster(Path dir, int size, EtchServer.Tuning tuning, BeforeStart beforeStart)
      throws Exception {
    this(dir, size, tuning, "http", i -> List.of(), beforeStart);
  }

  /** Members that ever belonged, by index: name m{i} = its peer URL. */
  final List<String> initialCluster = new ArrayList<>();

  TestCluster(Path dir, int size, EtchServer.Tuning tuning, String... extraFlags) throws Exception {
    this(dir, size, tuning, "http", i -> List.of(), extraFlags);
  }

  /**
   * @param peerScheme {@code http} or {@code https} (peer TLS) for the peer URLs
   * @param memberFlags flags for member {@code i} only (its certificate, for example)
   */
  TestCluster(
      Path dir,
      int size,
      EtchServer.Tuning tuning,
      String peerScheme,
      java.util.function.IntFunction<List<String>> memberFlags,
      String... extraFlags)
      throws Exception {
    this(dir, size, tuning, peerScheme, memberFlags, c -> {}, extraFlags);
  }

  private TestCluster(
      Path dir,
      int size,
      EtchServer.Tuning tuning,
      String peerScheme,
      java.util.function.IntFunction<List<String>> memberFlags,
      BeforeStart beforeStart,
      String... extraFlags)
      throws Exception {
    this.beforeStart = beforeStart;
    this.dir = dir;
    this.tuning = tuning;
    this.peerScheme = peerScheme;
    this.memberFlags = memberFlags;
    this.extraFlags = List.of(extraFlags);
    // A port found free can be taken (as some connection's local port) before a member binds
    // it: start again on fresh ports and fresh data directories, a few times.
    for (int attempt = 1; ; attempt++) {
      try {
        startAll(size, attempt);
        break;
      } catch (java.util.concurrent.ExecutionException e) {
        if (attempt == 3 || !String.valueOf(e.getMessage()).contains("Failed to bind")) {
          throw e;
        }
      }
    }
    awaitPublished();
  }

  private void startAll(int size, int attempt) throws Exception {
    for (EtchServer m : members) {
      if (m != null) {
        m.close();
      }
    }
    members.clear();
    clientPorts.clear();
    peerPorts.clear();
    initialCluster.clear();
    dataRoot = attempt == 1 ? dir : dir.resolve("attempt-" + attempt);
    for (int i = 0; i < size; i++) {
      addSlot();
      initialCluster.add("m" + i + "=" + peerUrl(i));
    }
    beforeStart.prepare(this);
    List<CompletableFuture<EtchServer>> started = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      int n = i;
      started.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return EtchServer.start(
                      config(n, "new", String.join(",", initialCluster)), tuning);
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    java.util.concurrent.ExecutionException failed = null;
    for (int i = 0; i < size; i++) {
      try {
        members.set(i, started.get(i).get(60, TimeUnit.SECONDS));
      } catch (java.util.concurrent.ExecutionException e) {
        failed = e;
      }
    }
    if (failed != null) {
      throw failed;
    }
  }

  /** Waits until every running member lists every member's name and client URLs. */
  void awaitPublished() throws InterruptedException {
    await(
        Duration.ofSeconds(30),
        () ->
            members.stream()
                .filter(s -> s != null)
                .allMatch(
                    s ->
                        s.store().members().size()
                                >= members.stream().filter(m -> m != null).count()
                            && s.store().members().stream()
                                .allMatch(m -> !m.clientURLs().isEmpty())),
        "every member to publish its client URLs");
  }

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  private void addSlot() throws Exception {
    members.add(null);
    clientPorts.add(TestServer.freePort());
    peerPorts.add(TestServer.freePort());
  }

  String peerUrl(int i) {
    return peerScheme + "://127.0.0.1:" + peerPorts.get(i);
  }

  String clientUrl(int i) {
    return "http://127.0.0.1:" + clientPorts.get(i);
  }

  private EtchConfig config(int i, String state, String cluster) throws Exception {
    List<String> args = new ArrayList<>();
    args.add("--name=m" + i);
    args.add("--data-dir=" + dataRoot.resolve("m" + i));
    args.add("--listen-client-urls=" + clientUrl(i));
    args.add("--advertise-client-urls=" + clientUrl(i));
    args.add("--listen-peer-urls=" + peerUrl(i));
    args.add("--initial-advertise-peer-urls=" + peerUrl(i));
    args.add("--initial-cluster=" + cluster);
    args.add("--initial-cluster-state=" + state);
    args.add("--heartbeat-interval=50");
    args.add("--election-timeout=500");
    args.addAll(extraFlags);
    args.addAll(memberFlags.apply(i));
    return EtchConfig.parse(args.toArray(new String[0]), Map.of());
  }

  /**
   * Reserves ports for a new member (index returned) whose peer URL can be given to MemberAdd;
   * {@link #join} starts it.
   */
  int reserve() throws Exception {
    addSlot();
    return members.size() - 1;
  }

  /** Starts reserved member {@code i}, joining the existing cluster. */
  EtchServer join(int i) throws Exception {
    List<String> cluster = new ArrayList<>();
    for (int j = 0; j < members.size(); j++) {
      if (j == i || members.get(j) != null) {
        cluster.add("m" + j + "=" + peerUrl(j));
      }
    }
    EtchServer s = EtchServer.start(config(i, "existing", String.join(",", cluster)), tuning);
    members.set(i, s);
    return s;
  }

  EtchServer member(int i) {
    return members.get(i);
  }

  /** Stops member {@code i} (its data stays). */
  void kill(int i) {
    EtchServer s = members.get(i);
    if (s != null) {
      s.close();
      members.set(i, null);
    }
  }

  /** Restarts a killed member from its data directory. */
  EtchServer restart(int i) throws Exception {
    EtchServer s = EtchServer.start(config(i, "new", String.join(",", initialCluster)), tuning);
    members.set(i, s);
    return s;
  }

  /** Cuts member {@code i} off from every other member (both directions). */
  void isolate(int i) {
    Set<Long> others = new HashSet<>();
    for (int j = 0; j < members.size(); j++) {
      if (j != i && members.get(j) != null) {
        others.add(members.get(j).memberId());
        members.get(j).transport().block(Set.of(members.get(i).memberId()));
      }
    }
    members.get(i).transport().block(others);
  }

  /** Removes every partition. */
  void heal() {
    for (EtchServer s : members) {
      if (s != null) {
        s.transport().block(Set.of());
      }
    }
  }

  Client client(int i) {
    Client c = Client.builder().endpoints(clientUrl(i)).build();
    clients.add(c);
    return c;
  }

  int leaderIndex() {
    for (int i = 0; i < members.size(); i++) {
      EtchServer s = members.get(i);
      if (s != null && s.raft().isLeader()) {
        return i;
      }
    }
    return -1;
  }

  int awaitLeader() throws InterruptedException {
    await(Duration.ofSeconds(20), () -> leaderIndex() >= 0, "a leader");
    return leaderIndex();
  }

  /** Waits until every running member applied as far as the furthest one. */
  void awaitConverged() throws InterruptedException {
    await(
        Duration.ofSeconds(30),
        () -> {
          long max = 0;
          long min = Long.MAX_VALUE;
          for (EtchServer s : members) {
            if (s != null) {
              max = Math.max(max, s.raft().appliedIndex());
              min = Math.min(min, s.raft().appliedIndex());
            }
          }
          return max == min;
        },
        "all members to apply the same index");
  }

  /** Every running member holds the same key-value history at the same revision. */
  void assertSameData() throws InterruptedException {
    awaitConverged();
    long rev = -1;
    int hash = 0;
    for (int i = 0; i < members.size(); i++) {
      EtchServer s = members.get(i);
      if (s == null) {
        continue;
      }
      var h = s.store().hashKV(0);
      if (rev < 0) {
        rev = s.store().currentRevision();
        hash = h.hash();
      } else {
        assertThat(s.store().currentRevision()).as("revision of member %d", i).isEqualTo(rev);
        assertThat(h.hash()).as("hashKV of member %d", i).isEqualTo(hash);
      }
    }
  }

  static void await(Duration timeout, BooleanSupplier cond, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  @Override
  public void close() {
    clients.forEach(Client::close);
    for (EtchServer s : members) {
      if (s != null) {
        s.close();
      }
    }
  }
}
