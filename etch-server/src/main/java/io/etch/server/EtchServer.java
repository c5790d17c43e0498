package io.etch.server;

import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.internal.InternalRequest;
import io.etch.raft.Bootstrap;
import io.etch.raft.Config;
import io.etch.server.auth.AuthApplier;
import io.etch.server.auth.AuthInterceptor;
import io.etch.server.auth.AuthService;
import io.etch.server.auth.AuthStore;
import io.etch.server.cluster.ClusterService;
import io.etch.server.cluster.Membership;
import io.etch.server.config.EtchConfig;
import io.etch.server.kv.KvService;
import io.etch.server.lease.LeaseApplier;
import io.etch.server.lease.LeaseExpiry;
import io.etch.server.lease.LeaseService;
import io.etch.server.lease.Lessor;
import io.etch.server.maintenance.AutoCompactor;
import io.etch.server.maintenance.MaintenanceService;
import io.etch.server.raft.RaftNode;
import io.etch.server.tls.ClientTls;
import io.etch.server.transport.PeerService;
import io.etch.server.transport.PeerTransport;
import io.etch.server.watch.WatchHub;
import io.etch.server.watch.WatchService;
import io.etch.storage.mvcc.MvccStore;
import io.etch.storage.wal.WalStorage;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One etch member: opens (or bootstraps) the WAL and the MVCC store under {@code data-dir/member},
 * replays what the store has not applied, runs the raft loop and the apply thread, and serves the
 * etcd v3 gRPC API on the client URLs. A single member runs the same code path as a cluster: a
 * one-voter raft group.
 */
public final class EtchServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EtchServer.class);

  private final EtchConfig config;
  private final long memberId;
  private final long clusterId;
  private final WalStorage wal;
  private final MvccStore store;
  private final Wait wait = new Wait();
  private final RaftNode raft;
  private final WatchHub watchHub;
  private final List<Server> clientServers = new ArrayList<>();
  private final List<Server> peerServers = new ArrayList<>();
  private final PeerTransport transport;
  private final ExecutorService responseExecutor;
  private final AtomicLong requestIds;
  private final Duration requestTimeout;
  private final Lessor lessor;
  private final AuthStore auth;
  private LeaseExpiry leaseExpiry;
  private final Tuning tuning;
  private AutoCompactor compactor;

  /**
   * Intervals etcd hard-codes, which tests shorten.
   *
   * @param revisionCompactionInterval how often {@code --auto-compaction-mode=revision} checks
   *     (etcd: 5 minutes)
   * @param snapshotCatchUpEntries raft log entries kept behind a snapshot for slow followers (etcd:
   *     5000)
   */
  public record Tuning(Duration revisionCompactionInterval, long snapshotCatchUpEntries) {
    public static final Tuning ETCD = new Tuning(AutoCompactor.DEFAULT_REVISION_INTERVAL, 5000);
  }

  private EtchServer(EtchConfig config, Tuning tuning) throws IOException {
    this.config = config;
    this.tuning = tuning;
    List<Long> ids = new ArrayList<>();
    for (Map.Entry<String, List<URI>> m : config.initialCluster().entrySet()) {
      ids.add(ClusterIds.memberId(m.getValue(), config.initialClusterToken()));
    }
    Path memberDir = config.dataDir().resolve("member");
    Path walDir = memberDir.resolve("wal");
    Path dbDir = memberDir.resolve("db");
    Files.createDirectories(memberDir);
    if (WalStorage.exists(walDir)) {
      wal = WalStorage.open(walDir, WalStorage.Options.DEFAULT);
      ByteBuffer meta = ByteBuffer.wrap(wal.metadata());
      memberId = meta.getLong();
      clusterId = meta.getLong();
      log.info(
          "restarting member {} in cluster {} from {} (last index {})",
          Long.toHexString(memberId),
          Long.toHexString(clusterId),
          walDir,
          wal.lastIndex());
    } else {
      if (config.initialClusterState() != EtchConfig.ClusterState.NEW) {
        throw new IOException(
            "joining an existing cluster (--initial-cluster-state=existing) needs the peer transport, which this build lacks");
      }
      memberId =
          ClusterIds.memberId(config.initialAdvertisePeerUrls(), config.initialClusterToken());
      if (!ids.contains(memberId)) {
        throw new IOException(
            "--initial-advertise-peer-urls "
                + config.initialAdvertisePeerUrls()
                + " do not match this member's entry in --initial-cluster");
      }
      clusterId = ClusterIds.clusterId(ids);
      byte[] meta = ByteBuffer.allocate(16).putLong(memberId).putLong(clusterId).array();
      wal = WalStorage.create(walDir, meta, Bootstrap.confState(ids), WalStorage.Options.DEFAULT);
      wal.save(Bootstrap.hardState(ids), Bootstrap.entries(ids), true);
      log.info(
          "bootstrapped member {} of new cluster {} with {} member(s)",
          Long.toHexString(memberId),
          Long.toHexString(clusterId),
          ids.size());
    }
    store = MvccStore.open(dbDir);
    long tickMs = config.heartbeatInterval().toMillis();
    int electionTicks = (int) Math.max(2, config.electionTimeout().toMillis() / tickMs);
    Config rc =
        Config.builder(memberId, wal, new SecureRandom())
            .electionTick(electionTicks)
            .heartbeatTick(1)
            .applied(wal.snapshot().index())
            .maxSizePerMsg(1024 * 1024)
            .maxInflightMsgs(512)
            .checkQuorum(true)
            .preVote(true)
            .build();
    // etcd's progress notify interval default: 10 minutes; responses up to max request + 512 KiB.
    watchHub =
        new WatchHub(
            store,
            this::header,
            Duration.ofMinutes(10),
            config.maxRequestBytes() + 512 * 1024,
            System::nanoTime);
    lessor = new Lessor(Lessor.minTtl(electionTicks, tickMs), System::nanoTime);
    lessor.recover(store.leases(), store.leasedKeys());
    Membership membership =
        new Membership(config.initialCluster(), config.initialClusterToken(), store.members());
    auth = new AuthStore(store, config.auth(), System::nanoTime, new SecureRandom(), lessor::keys);
    // etcd: with --client-cert-auth, a client without a token is the user its certificate names.
    auth.useCertificateCommonName(
        config.clientTls() != null && config.clientTls().clientCertAuth());
    EtchStateMachine sm =
        new EtchStateMachine(
            store,
            wait,
            watchHub::publish,
            new LeaseApplier(lessor),
            membership,
            new AuthApplier(auth));
    transport = new PeerTransport(memberId, clusterId);
    // Peers come from --initial-cluster (etcd reads them from the stored membership on restart;
    // until membership changes exist, the two agree).
    for (Map.Entry<String, List<URI>> m : config.initialCluster().entrySet()) {
      transport.addPeer(
          ClusterIds.memberId(m.getValue(), config.initialClusterToken()), m.getValue());
    }
    raft = new RaftNode(rc, wal, transport, sm, tickMs, System::nanoTime);
    transport.bind(raft);
    auth.appliedIndex(raft::appliedIndex);
    raft.enableSnapshots(config.snapshotCount(), tuning.snapshotCatchUpEntries(), store::sync);
    responseExecutor =
        Executors.newFixedThreadPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()),
            r -> {
              Thread t = new Thread(r, "etch-respond");
              t.setDaemon(true);
              return t;
            });
    // etcd: request ids are unique per member: member id bits, then time, then a counter.
    requestIds =
        new AtomicLong(
            ((memberId & 0xffff) << 48) | ((System.currentTimeMillis() & 0xffffffffffL) << 8));
    // etcd's ReqTimeout: 5 s plus two election timeouts.
    requestTimeout = Duration.ofSeconds(5).plus(config.electionTimeout().multipliedBy(2));
  }

  /** Opens storage, starts raft and the client listeners. */
  public static EtchServer start(EtchConfig config) throws IOException {
    return start(config, Tuning.ETCD);
  }

  /** {@link #start(EtchConfig)} with etcd's fixed intervals replaced (tests). */
  public static EtchServer start(EtchConfig config, Tuning tuning) throws IOException {
    EtchServer s = new EtchServer(config, tuning);
    try {
      s.startServices();
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  private void startServices() throws IOException {
    for (URI u : config.listenPeerUrls()) {
      Server server =
          NettyServerBuilder.forAddress(new InetSocketAddress(u.getHost(), u.getPort()))
              .maxInboundMessageSize(64 << 20)
              // Handlers only enqueue to the raft loop: run them on the event loop, no hand-off.
              .directExecutor()
              .addService(
                  ServerInterceptors.intercept(
                      new PeerService(raft), PeerService.clusterCheck(clusterId)))
              .build()
              .start();
      peerServers.add(server);
      log.info("serving peer traffic on {}", u.getHost() + ":" + server.getPort());
    }
    raft.start();
    // etcd's lessor checks expiries every 500 ms; etch checks more often for prompter expiry.
    leaseExpiry =
        new LeaseExpiry(
            lessor,
            raft::isLeader,
            raft::term,
            this::propose,
            config.electionTimeout(),
            Duration.ofMillis(100));
    leaseExpiry.start();
    awaitPublished(ClusterService.publish(this));
    int maxInbound = config.maxRequestBytes() + 512 * 1024; // etcd's gRPC overhead allowance
    var clientTls = config.clientTls() == null ? null : ClientTls.serverContext(config.clientTls());
    for (URI u : config.listenClientUrls()) {
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(new InetSocketAddress(u.getHost(), u.getPort()));
      if ("https".equals(u.getScheme())) {
        builder.sslContext(clientTls);
      }
      Server server =
          builder
              .maxInboundMessageSize(maxInbound)
              // No handler blocks (waits are futures; store scans run on the respond pool), so
              // calls run on the Netty event loop instead of hopping to gRPC's cached thread pool,
              // which cost more CPU than the whole write path under load (bench profile).
              .directExecutor()
              .intercept(new AuthInterceptor())
              .addService(new AuthService(this, auth))
              .addService(new KvService(this))
              .addService(new LeaseService(this, lessor, leaseExpiry))
              .addService(new MaintenanceService(this))
              .addService(new ClusterService(this))
              .addService(new WatchService(watchHub, auth))
              .build()
              .start();
      clientServers.add(server);
      log.info("serving client requests on {}", u.getHost() + ":" + server.getPort());
    }
    compactor =
        AutoCompactor.create(
            config.autoCompaction(),
            compactionTarget(),
            tuning.revisionCompactionInterval(),
            System::nanoTime);
    if (compactor != null) {
      compactor.start();
    }
  }

  /**
   * etcd serves clients only once the member published its attributes through raft (its
   * ReadyNotify): until then member list would not show this member's client URLs. Bounded here by
   * the request timeout, after which serving starts and publishing goes on retrying.
   */
  private void awaitPublished(CompletableFuture<Void> published) throws IOException {
    try {
      published.get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      log.warn("member not published within {}; serving clients anyway", requestTimeout);
    } catch (ExecutionException e) {
      throw new IOException("cannot publish this member: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while publishing this member", e);
    }
  }

  private AutoCompactor.Target compactionTarget() {
    return new AutoCompactor.Target() {
      @Override
      public long currentRevision() {
        return store.currentRevision();
      }

      @Override
      public long compactRevision() {
        return store.compactRevision();
      }

      @Override
      public boolean isLeader() {
        return raft.isLeader();
      }

      @Override
      public CompletableFuture<?> compact(long revision) {
        return propose(
            InternalRequest.newBuilder()
                .setCompaction(CompactionRequest.newBuilder().setRevision(revision)));
      }
    };
  }

  public EtchConfig config() {
    return config;
  }

  public long memberId() {
    return memberId;
  }

  public long clusterId() {
    return clusterId;
  }

  public MvccStore store() {
    return store;
  }

  public RaftNode raft() {
    return raft;
  }

  public Lessor lessor() {
    return lessor;
  }

  /** Users, roles, tokens and the permission checks every service runs. */
  public AuthStore auth() {
    return auth;
  }

  /** The raft log and its snapshots. */
  public WalStorage wal() {
    return wal;
  }

  public WatchHub watchHub() {
    return watchHub;
  }

  public ExecutorService responseExecutor() {
    return responseExecutor;
  }

  /** The actual port of the first client listener (useful with port 0). */
  public int clientPort() {
    return clientServers.get(0).getPort();
  }

  public ResponseHeader header(long revision) {
    return ResponseHeader.newBuilder()
        .setClusterId(clusterId)
        .setMemberId(memberId)
        .setRevision(revision)
        .setRaftTerm(raft.term())
        .build();
  }

  /**
   * Proposes a request through raft and completes with its applied result ({@link
   * EtchStateMachine.Applied}) or the etcd error it failed with.
   */
  public CompletableFuture<EtchStateMachine.Applied> propose(InternalRequest.Builder req) {
    long id = requestIds.incrementAndGet();
    byte[] data = req.setId(id).build().toByteArray();
    if (data.length > config.maxRequestBytes()) {
      return CompletableFuture.failedFuture(new EtcdStatusException(EtcdStatus.REQUEST_TOO_LARGE));
    }
    CompletableFuture<Object> result = wait.register(id);
    raft.propose(data)
        .whenComplete(
            (ok, err) -> {
              if (err != null) {
                wait.cancel(id);
                result.completeExceptionally(err);
              }
            });
    return result
        .orTimeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete(
            (r, err) -> {
              if (err != null) {
                wait.cancel(id);
              }
            })
        .thenApply(
            r -> {
              if (r instanceof RuntimeException ex) {
                throw ex;
              }
              return (EtchStateMachine.Applied) r;
            });
  }

  /**
   * A linearizable read barrier: completes once this member applied everything committed before.
   */
  public CompletableFuture<Void> linearizableBarrier() {
    return raft.readIndex()
        .orTimeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .thenCompose(index -> raft.applier().waitApplied(index));
  }

  @Override
  public void close() {
    watchHub.close(); // ends watch streams, which would otherwise hold the listeners open
    if (compactor != null) {
      compactor.close();
    }
    for (Server s : clientServers) {
      s.shutdown();
    }
    for (Server s : peerServers) {
      s.shutdownNow();
    }
    transport.close();
    for (Server s : clientServers) {
      try {
        s.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      s.shutdownNow();
    }
    if (leaseExpiry != null) {
      leaseExpiry.close();
    }
    try {
      raft.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    wait.failAll(new EtcdStatusException(EtcdStatus.STOPPED));
    if (responseExecutor != null) {
      responseExecutor.shutdown();
    }
    store.close();
    try {
      wal.close();
    } catch (IOException e) {
      log.warn("closing WAL: {}", e.toString());
    }
  }
}
