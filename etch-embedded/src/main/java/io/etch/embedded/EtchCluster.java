package io.etch.embedded;

import io.etch.server.EtchServer;
import io.etch.server.config.ConfigException;
import io.etch.server.config.EtchConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;

/**
 * A real etch cluster of one or more members in this JVM, on loopback ports: the same member code
 * {@code bin/etch} runs (WAL with fsync, RocksDB, raft, gRPC), started in parallel as a real
 * cluster's members start. {@link #start()} returns once a leader is elected, every member has
 * published its client URLs through raft and every client endpoint listens; {@link #close()} stops
 * every member and deletes the data of a cluster that made its own temporary directory.
 *
 * <pre>{@code
 * try (EtchCluster etch = EtchCluster.builder().withMembers(3).start();
 *     Client client = Client.builder().endpoints(etch.clientEndpoints()).build()) {
 *   client.getKVClient().put(key, value).get();
 *   etch.member(etch.leaderIndex()).kill();   // writes continue on the other two
 * }
 * }</pre>
 *
 * <p>Thread-safety: start, close and the members' stop/kill/restart are meant to be called from the
 * test's thread; the accessors may be read from any thread.
 */
public final class EtchCluster implements AutoCloseable {
  /** Attempts to start on fresh ports when another process took a port first. */
  private static final int START_ATTEMPTS = 3;

  static final long DEFAULT_WAL_SEGMENT_BYTES = 4L << 20;

  private final int size;
  private final Path givenDataDir;
  private final Duration heartbeat;
  private final Duration electionTimeout;
  private final Duration startTimeout;
  private final List<String> flags;
  private final EtchServer.Tuning tuning;
  private final String token;
  private final List<EtchMember> members = new ArrayList<>();
  private Path root;
  private boolean ownsRoot;
  private volatile boolean started;
  private volatile boolean closed;

  private EtchCluster(Builder b) {
    this.size = b.members;
    this.givenDataDir = b.dataDir;
    this.heartbeat =
        b.heartbeat != null ? b.heartbeat : Duration.ofMillis(b.members == 1 ? 10 : 25);
    this.electionTimeout =
        b.electionTimeout != null ? b.electionTimeout : heartbeat.multipliedBy(10);
    this.startTimeout = b.startTimeout;
    this.flags = List.copyOf(b.flags);
    this.tuning = EtchServer.Tuning.ETCD.withWalSegmentBytes(b.walSegmentBytes);
    // A token of its own per cluster: members of two clusters in one JVM never take each other's
    // messages for their own (etcd derives member and cluster IDs from it).
    this.token = "etch-embedded-" + Long.toHexString(System.nanoTime());
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts every member and waits until the cluster serves: a leader, every member published, every
   * client endpoint listening. Retries on fresh ports if another process took one first.
   */
  public synchronized EtchCluster start() {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    if (started) {
      return this;
    }
    RocksDbLibrary.load();
    try {
      if (givenDataDir != null) {
        Files.createDirectories(givenDataDir);
        root = givenDataDir;
      } else {
        root = Files.createTempDirectory("etch-embedded-");
        ownsRoot = true;
      }
      for (int attempt = 1; ; attempt++) {
        try {
          startMembers();
          break;
        } catch (BindException e) {
          stopMembers();
          deleteMemberDirs();
          if (attempt == START_ATTEMPTS) {
            throw e;
          }
        }
      }
      awaitReady(startTimeout);
      started = true;
      return this;
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("starting etch: " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  private void startMembers() throws IOException {
    members.clear();
    for (int i = 0; i < size; i++) {
      members.add(new EtchMember(this, i, Ports.next(), Ports.next(), root.resolve("m" + i)));
    }
    List<CompletableFuture<Void>> starting = new ArrayList<>();
    for (EtchMember m : members) {
      // A thread each: a member of several waits in start for the others (publishing needs a
      // leader, a leader needs a quorum), so they cannot start one after another.
      CompletableFuture<Void> f = new CompletableFuture<>();
      Thread t =
          new Thread(
              () -> {
                try {
                  m.startServer();
                  f.complete(null);
                } catch (Throwable e) {
                  f.completeExceptionally(e);
                }
              },
              "etch-embedded-start-" + m.index());
      t.setDaemon(true);
      t.start();
      starting.add(f);
    }
    IOException failed = null;
    for (CompletableFuture<Void> f : starting) {
      try {
        f.get();
      } catch (ExecutionException e) {
        IOException io = asIo(e.getCause());
        if (failed == null || io instanceof BindException) {
          failed = io;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while starting etch", e);
      }
    }
    if (failed != null) {
      throw failed;
    }
  }

  /** A start failure as an IOException; a lost port as a BindException, whatever wrapped it. */
  private static IOException asIo(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof BindException b) {
        return b;
      }
      if (String.valueOf(c.getMessage()).contains("Failed to bind")) {
        BindException b = new BindException(c.getMessage());
        b.initCause(e);
        return b;
      }
    }
    return e instanceof IOException io ? io : new IOException(e.toString(), e);
  }

  /** Member {@code i}'s configuration: etcd's flags, as a user would pass them to bin/etch. */
  EtchConfig config(EtchMember m) throws IOException {
    List<String> args = new ArrayList<>();
    args.add("--name=" + m.name());
    args.add("--data-dir=" + m.dataDir());
    args.add("--listen-client-urls=" + m.clientEndpoint());
    args.add("--advertise-client-urls=" + m.clientEndpoint());
    args.add("--listen-peer-urls=" + m.peerEndpoint());
    args.add("--initial-advertise-peer-urls=" + m.peerEndpoint());
    List<String> cluster = new ArrayList<>();
    for (EtchMember o : members) {
      cluster.add(o.name() + "=" + o.peerEndpoint());
    }
    args.add("--initial-cluster=" + String.join(",", cluster));
    args.add("--initial-cluster-token=" + token);
    args.add("--initial-cluster-state=new");
    args.add("--heartbeat-interval=" + heartbeat.toMillis());
    args.add("--election-timeout=" + electionTimeout.toMillis());
    args.addAll(flags);
    try {
      return EtchConfig.parse(args.toArray(new String[0]), Map.of());
    } catch (ConfigException e) {
      throw new IllegalArgumentException("etch flags " + args + ": " + e.getMessage(), e);
    }
  }

  /**
   * Waits until the running members have a leader they agree on and every running member lists
   * every member with its client URLs.
   */
  public void awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!ready()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "etch cluster not ready within " + timeout + " (leader: " + leaderIndex() + ")");
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for etch", e);
      }
    }
  }

  private boolean ready() {
    int leader = leaderIndex();
    if (leader < 0) {
      return false;
    }
    long leaderId = members.get(leader).server().memberId();
    for (EtchMember m : members) {
      EtchServer s = m.server();
      if (s == null) {
        continue;
      }
      if (s.raft().leader() != leaderId) {
        return false;
      }
      var known = s.store().members();
      if (known.size() != members.size()
          || known.stream().anyMatch(r -> r.clientURLs().isEmpty())) {
        return false;
      }
    }
    return true;
  }

  /** The index of the member that is leader, or -1 if no running member is. */
  public int leaderIndex() {
    for (EtchMember m : members) {
      EtchServer s = m.server();
      if (s != null && s.raft().isLeader()) {
        return m.index();
      }
    }
    return -1;
  }

  /** Waits for a leader among the running members (after a kill, for example); its index. */
  public int awaitLeader(Duration timeout) {
    awaitReady(timeout);
    return leaderIndex();
  }

  /** Every member's client URL ({@code http://127.0.0.1:port}), for jetcd's {@code endpoints}. */
  public List<URI> clientEndpoints() {
    return members.stream().map(EtchMember::clientEndpoint).toList();
  }

  /** Every member's peer URL. */
  public List<URI> peerEndpoints() {
    return members.stream().map(EtchMember::peerEndpoint).toList();
  }

  /** The client endpoints of the members now running. */
  public List<URI> runningClientEndpoints() {
    return members.stream().filter(EtchMember::isRunning).map(EtchMember::clientEndpoint).toList();
  }

  public EtchMember member(int i) {
    return members.get(i);
  }

  public List<EtchMember> members() {
    return Collections.unmodifiableList(members);
  }

  public int size() {
    return size;
  }

  /** The directory holding every member's data directory ({@code m0}, {@code m1}, ...). */
  public Path dataDir() {
    return root;
  }

  public boolean isRunning() {
    return started && !closed;
  }

  EtchServer.Tuning tuning() {
    return tuning;
  }

  /**
   * Stops every member; deletes the data if this cluster made its temporary directory (a directory
   * given to the builder is kept).
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopMembers();
    if (ownsRoot && root != null) {
      deleteTree(root);
    }
  }

  private void stopMembers() {
    // In parallel: a member's close waits for its client calls to end.
    members.parallelStream().forEach(EtchMember::stopQuietly);
  }

  private void deleteMemberDirs() {
    for (EtchMember m : members) {
      deleteTree(m.dataDir());
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("deleting " + dir, e);
    }
  }

  /** How to start a cluster: members, data directory, raft timing, extra etcd flags. */
  public static final class Builder {
    private int members = 1;
    private Path dataDir;
    private Duration heartbeat;
    private Duration electionTimeout;
    private Duration startTimeout = Duration.ofSeconds(30);
    private long walSegmentBytes = DEFAULT_WAL_SEGMENT_BYTES;
    private final List<String> flags = new ArrayList<>();

    private Builder() {}

    /** Members: 1 (default), 3, or any odd number (an even one has no fault tolerance gain). */
    public Builder withMembers(int n) {
      if (n < 1 || n % 2 == 0) {
        throw new IllegalArgumentException("members must be 1 or an odd number, got " + n);
      }
      this.members = n;
      return this;
    }

    /**
     * Keeps the members' data under {@code dir} (created if missing, never deleted) instead of a
     * temporary directory removed at close.
     */
    public Builder withDataDir(Path dir) {
      this.dataDir = dir;
      return this;
    }

    /**
     * Raft timing ({@code --heartbeat-interval}, {@code --election-timeout}); defaults: 10 ms / 100
     * ms for one member, 25 ms / 250 ms for more. Shorter elections make failover tests faster; too
     * short ones cause needless elections on a busy machine.
     */
    public Builder withRaftTiming(Duration heartbeat, Duration electionTimeout) {
      this.heartbeat = heartbeat;
      this.electionTimeout = electionTimeout;
      return this;
    }

    /**
     * The size WAL segments are preallocated to (zero-filled and fsynced before use). Default 4 MiB
     * instead of etcd's 64 MiB: a test member writes little, and a 64 MiB segment costs its start
     * 64 MiB of zeros to disk, plus 64 MiB more for the next segment in the background.
     */
    public Builder withWalSegmentBytes(long bytes) {
      if (bytes < 4096) {
        throw new IllegalArgumentException("WAL segments need at least 4096 bytes, got " + bytes);
      }
      this.walSegmentBytes = bytes;
      return this;
    }

    /** How long {@link EtchCluster#start()} waits for the cluster to serve (default 30 s). */
    public Builder withStartTimeout(Duration timeout) {
      this.startTimeout = timeout;
      return this;
    }

    /**
     * More of etcd's flags for every member, e.g. {@code --auto-compaction-retention=1}, {@code
     * --auth-token=jwt,...}, {@code --max-txn-ops=1024}. Listen, advertise and cluster flags are
     * the cluster's own.
     */
    public Builder withFlags(String... flags) {
      this.flags.addAll(List.of(flags));
      return this;
    }

    /** The cluster, not yet started. */
    public EtchCluster build() {
      return new EtchCluster(this);
    }

    /** Builds and starts the cluster. */
    public EtchCluster start() {
      return build().start();
    }
  }
}
