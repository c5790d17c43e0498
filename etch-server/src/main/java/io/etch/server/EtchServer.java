package io.etch.server;

import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.etcdserverpb.Member;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.internal.InternalRequest;
import io.etch.api.internal.MembersResponse;
import io.etch.raft.Bootstrap;
import io.etch.raft.ConfChange;
import io.etch.raft.ConfChangeType;
import io.etch.raft.ConfState;
import io.etch.raft.Config;
import io.etch.raft.Snapshot;
import io.etch.raft.SnapshotMetadata;
import io.etch.server.auth.AuthApplier;
import io.etch.server.auth.AuthInterceptor;
import io.etch.server.auth.AuthService;
import io.etch.server.auth.AuthStore;
import io.etch.server.cluster.ClusterService;
import io.etch.server.cluster.ConfChangeContext;
import io.etch.server.cluster.LearnerGuard;
import io.etch.server.cluster.Membership;
import io.etch.server.config.EtchConfig;
import io.etch.server.election.ElectionService;
import io.etch.server.http.HealthRoutes;
import io.etch.server.http.HttpGateway;
import io.etch.server.http.PortSharing;
import io.etch.server.kv.KvService;
import io.etch.server.lease.LeaseApplier;
import io.etch.server.lease.LeaseExpiry;
import io.etch.server.lease.LeaseService;
import io.etch.server.lease.Lessor;
import io.etch.server.lock.LocalClient;
import io.etch.server.lock.LockService;
import io.etch.server.maintenance.AutoCompactor;
import io.etch.server.maintenance.MaintenanceService;
import io.etch.server.metrics.EtchMetrics;
import io.etch.server.raft.RaftNode;
import io.etch.server.tls.ClientTls;
import io.etch.server.tls.PeerTls;
import io.etch.server.transport.LeaderForwarder;
import io.etch.server.transport.PeerService;
import io.etch.server.transport.PeerTransport;
import io.etch.server.watch.WatchHub;
import io.etch.server.watch.WatchService;
import io.etch.storage.membership.MemberRecord;
import io.etch.storage.mvcc.MvccOptions;
import io.etch.storage.mvcc.MvccStore;
import io.etch.storage.snapshot.SnapshotReceiver;
import io.etch.storage.snapshot.SnapshotStore;
import io.etch.storage.snapshot.SnapshotStream;
import io.etch.storage.snapshot.StoredSnapshot;
import io.etch.storage.wal.WalStorage;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
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
  private final SnapshotStore snapshots;
  private final Membership membership;
  private final Wait wait = new Wait();
  private final RaftNode raft;
  private final WatchHub watchHub;
  private final List<Server> clientServers = new ArrayList<>();
  private HttpGateway gateway;
  private final List<Server> peerServers = new ArrayList<>();
  private final PeerTransport transport;
  private final ExecutorService responseExecutor;
  private final AtomicLong requestIds;
  private final Duration requestTimeout;
  private final LeaderForwarder leaderForwarder;
  private final SslContext peerClientTls;
  private final Lessor lessor;
  private final AuthStore auth;
  private final io.etch.server.maintenance.Alarms alarms;
  private final io.etch.server.maintenance.Quota quota;
  private final EtchMetrics metrics;
  private LeaseExpiry leaseExpiry;
  private final Tuning tuning;
  private AutoCompactor compactor;
  private volatile io.etch.server.maintenance.CorruptionCheck corruptionCheck;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean retiring = new AtomicBoolean();
  private volatile Throwable failure;
  private volatile long lastRemovalCheck = System.nanoTime() - 2_000_000_000L;

  /** The ids of the members as of the last applied change; empty until bootstrap is applied. */
  private volatile Set<Long> memberIds = Set.of();

  /** Whether this member is a learner (as of the last applied membership change). */
  private volatile boolean learner;

  private final CompletableFuture<Void> terminated = new CompletableFuture<>();

  /**
   * Intervals etcd hard-codes, which tests shorten.
   *
   * @param revisionCompactionInterval how often {@code --auto-compaction-mode=revision} checks
   *     (etcd: 5 minutes)
   * @param snapshotCatchUpEntries raft log entries kept behind a snapshot for slow followers (etcd:
   *     5000)
   * @param walSegmentBytes the size WAL segments are preallocated to (etcd: 64 MiB); an embedded
   *     test member with little data starts faster with small ones (each is still zero-filled and
   *     fsynced before use, so durability is the same; segments of either size open alike)
   */
  public record Tuning(
      Duration revisionCompactionInterval, long snapshotCatchUpEntries, long walSegmentBytes) {
    public static final Tuning ETCD =
        new Tuning(
            AutoCompactor.DEFAULT_REVISION_INTERVAL,
            5000,
            io.etch.storage.wal.Wal.Options.DEFAULT_SEGMENT_BYTES);

    public Tuning(Duration revisionCompactionInterval, long snapshotCatchUpEntries) {
      this(
          revisionCompactionInterval,
          snapshotCatchUpEntries,
          io.etch.storage.wal.Wal.Options.DEFAULT_SEGMENT_BYTES);
    }

    public Tuning withWalSegmentBytes(long bytes) {
      return new Tuning(revisionCompactionInterval, snapshotCatchUpEntries, bytes);
    }

    WalStorage.Options walOptions() {
      return new WalStorage.Options(
          new io.etch.storage.wal.Wal.Options(walSegmentBytes),
          Long.getLong("etch.walCacheBytes", WalStorage.Options.DEFAULT.cacheBytes()));
    }
  }

  private EtchServer(EtchConfig config, Tuning tuning) throws IOException {
    Map<Long, List<URI>> joinPeers = new HashMap<>();
    this.config = config;
    this.peerClientTls = config.peerTls() == null ? null : PeerTls.clientContext(config.peerTls());
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
      wal = WalStorage.open(walDir, tuning.walOptions());
      ByteBuffer meta = ByteBuffer.wrap(wal.metadata());
      memberId = meta.getLong();
      clusterId = meta.getLong();
      log.info(
          "restarting member {} in cluster {} from {} (last index {})",
          Long.toHexString(memberId),
          Long.toHexString(clusterId),
          walDir,
          wal.lastIndex());
    } else if (config.initialClusterState() == EtchConfig.ClusterState.NEW) {
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
      wal = WalStorage.create(walDir, meta, Bootstrap.confState(ids), tuning.walOptions());
      wal.save(Bootstrap.hardState(ids), Bootstrap.entries(ids), true);
      log.info(
          "bootstrapped member {} of new cluster {} with {} member(s)",
          Long.toHexString(memberId),
          Long.toHexString(clusterId),
          ids.size());
    } else {
      // Joining (etcd's --initial-cluster-state existing): the cluster already added this member
      // (etcdctl member add); ask the others for the cluster ID and find this member by its peer
      // URLs. The log (or a snapshot) then brings the configuration, from an empty start.
      Set<String> own = new HashSet<>();
      config.initialAdvertisePeerUrls().forEach(u -> own.add(u.toString()));
      List<URI> others = new ArrayList<>();
      for (List<URI> urls : config.initialCluster().values()) {
        for (URI u : urls) {
          if (!own.contains(u.toString())) {
            others.add(u);
          }
        }
      }
      MembersResponse remote =
          PeerTransport.fetchMembers(others, Duration.ofSeconds(5), peerClientTls);
      Member self =
          remote.getMembersList().stream()
              .filter(m -> new HashSet<>(m.getPeerURLsList()).equals(own))
              .findFirst()
              .orElseThrow(
                  () ->
                      new IOException(
                          "cluster "
                              + Long.toHexString(remote.getClusterId())
                              + " has no member with peer URLs "
                              + own
                              + "; add it first (etcdctl member add)"));
      memberId = self.getID();
      clusterId = remote.getClusterId();
      byte[] meta = ByteBuffer.allocate(16).putLong(memberId).putLong(clusterId).array();
      wal = WalStorage.create(walDir, meta, ConfState.EMPTY, tuning.walOptions());
      for (Member m : remote.getMembersList()) {
        joinPeers.put(m.getID(), m.getPeerURLsList().stream().map(URI::create).toList());
      }
      log.info(
          "joining cluster {} as member {} ({} member(s) known)",
          Long.toHexString(clusterId),
          Long.toHexString(memberId),
          remote.getMembersCount());
    }
    store = MvccStore.open(dbDir, storeOptions());
    snapshots = new SnapshotStore(memberDir.resolve("snap"));
    if (store.consistentIndex() < wal.snapshot().index()) {
      // The WAL recorded a snapshot from the leader whose store data was not installed before a
      // crash: install it now (it was made durable before raft heard of it).
      StoredSnapshot s =
          findSnapshot(wal.snapshot().index(), wal.snapshot().term())
              .orElseThrow(
                  () ->
                      new IOException(
                          "the store is at index "
                              + store.consistentIndex()
                              + " but the WAL's snapshot at index "
                              + wal.snapshot().index()
                              + " has no stored data in "
                              + snapshots.root()));
      log.info("installing the snapshot at index {} left by a crash", s.index());
      store.restore(s.dataDir());
    }
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
    membership =
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
            new AuthApplier(auth),
            this::installSnapshot);
    alarms = new io.etch.server.maintenance.Alarms(store);
    sm.useAlarms(alarms);
    // The store's size is re-read at most every 100 ms: the quota check costs no disk stat.
    quota =
        new io.etch.server.maintenance.Quota(
            config.quotaBackendBytes(), store::sizeOnDisk, System::nanoTime, 100_000_000L);
    transport = new PeerTransport(memberId, clusterId, peerClientTls);
    // Peers: the stored membership (as etcd reads it on restart), else those a join learned, else
    // --initial-cluster for a new cluster whose bootstrap entries are not applied yet.
    Map<Long, List<URI>> peers = new HashMap<>();
    for (MemberRecord m : store.members()) {
      peers.put(m.id(), m.peerURLs().stream().map(URI::create).toList());
    }
    if (peers.isEmpty()) {
      peers.putAll(joinPeers);
    }
    if (peers.isEmpty()) {
      for (Map.Entry<String, List<URI>> m : config.initialCluster().entrySet()) {
        peers.put(ClusterIds.memberId(m.getValue(), config.initialClusterToken()), m.getValue());
      }
    }
    peers.forEach(
        (id, urls) -> {
          if (!urls.isEmpty()) {
            transport.addPeer(id, urls);
          }
        });
    membership.setListener(new MembershipEffects());
    memberIds = Set.copyOf(store.members().stream().map(MemberRecord::id).toList());
    transport.onRemoved(this::peerSaysRemoved);
    learner = store.members().stream().anyMatch(m -> m.id() == memberId && m.isLearner());
    raft = new RaftNode(rc, wal, transport, sm, tickMs, System::nanoTime);
    metrics = new EtchMetrics(new MetricsSource());
    wal.wal().fsyncListener(metrics::walFsync);
    sm.onBackendCommit(metrics::backendCommit);
    raft.onNewLeader(leader -> metrics.leaderChanged());
    raft.onFatal(this::fail);
    transport.listener(metrics.peerTransportListener());
    transport.bind(raft, this::openSnapshot);
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
    leaderForwarder =
        new LeaderForwarder(
            memberId,
            raft::leader,
            store::members,
            config.clientTls() == null ? null : PeerTls.clientContext(config.clientTls()));
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
    var peerServerTls = config.peerTls() == null ? null : PeerTls.serverContext(config.peerTls());
    for (URI u : config.listenPeerUrls()) {
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(new InetSocketAddress(u.getHost(), u.getPort()));
      if ("https".equals(u.getScheme())) {
        builder.sslContext(peerServerTls);
      }
      if (!config.peerCertAllowedCn().isEmpty()) {
        builder.intercept(PeerTls.allowedCommonName(config.peerCertAllowedCn()));
      }
      Server server =
          builder
              .maxInboundMessageSize(64 << 20)
              // Handlers only enqueue to the raft loop: run them on the event loop, no hand-off.
              .directExecutor()
              .addStreamTracerFactory(metrics.peerServerTracer())
              .addService(
                  ServerInterceptors.intercept(
                      new PeerService(
                          raft,
                          this::membersForJoiners,
                          transport::blocks,
                          this::receiveSnapshot,
                          id -> !memberIds.isEmpty() && !memberIds.contains(id)),
                      PeerService.clusterCheck(clusterId)))
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
    corruptionCheck = new io.etch.server.maintenance.CorruptionCheck(this);
    if (config.initialCorruptCheck()) {
      corruptionCheck.checkInitial(); // refuses to start on a mismatch with a peer, as etcd
    }
    int maxInbound = config.maxRequestBytes() + 512 * 1024; // etcd's gRPC overhead allowance
    LearnerGuard learnerGuard = new LearnerGuard(() -> learner);
    var clientTls =
        config.clientTls() == null ? null : ClientTls.serverContext(config.clientTls(), true);
    LeaseService leases = new LeaseService(this, lessor, leaseExpiry);
    LocalClient local = new LocalClient(this, leases);
    List<BindableService> clientServices =
        List.of(
            new AuthService(this, auth),
            new KvService(this),
            leases,
            new MaintenanceService(this),
            new ClusterService(this),
            new WatchService(watchHub, auth),
            new LockService(this, local),
            new ElectionService(this, local));
    List<ServerInterceptor> clientInterceptors = List.of(new AuthInterceptor(), learnerGuard);
    // etcd's gateway and /health, /version on the client port: the same services, in process.
    gateway = HttpGateway.start(clientServices, clientInterceptors, maxInbound);
    if (config.clientTls() != null && config.clientTls().clientCertAuth()) {
      gateway.guard(EtchServer.gatewayCommonNameGuard(auth));
    }
    HealthRoutes.install(
        gateway, Main.ETCD_COMPATIBLE_VERSION, "3.5.0", requestTimeout, alarms::list, raft::leader);
    gateway.addGet(
        "/metrics",
        q ->
            CompletableFuture.supplyAsync(
                () -> {
                  var text = new java.io.ByteArrayOutputStream(64 * 1024);
                  try {
                    metrics.scrape(text);
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                  return new HttpGateway.Reply(
                      io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus.OK,
                      metrics.contentType(),
                      text.toString(java.nio.charset.StandardCharsets.UTF_8));
                },
                responseExecutor));
    for (URI u : config.listenClientUrls()) {
      InetSocketAddress address = new InetSocketAddress(u.getHost(), u.getPort());
      NettyServerBuilder builder;
      if ("https".equals(u.getScheme())) {
        // gRPC and the gateway on one TLS port, as etcd (ALPN and the first bytes decide)
        builder = NettyServerBuilder.forAddress(address, PortSharing.tls(clientTls, gateway));
      } else {
        builder = NettyServerBuilder.forAddress(address, PortSharing.plaintext(gateway));
      }
      builder
          .maxInboundMessageSize(maxInbound)
          // No handler blocks (waits are futures; store scans run on the respond pool), so
          // calls run on the Netty event loop instead of hopping to gRPC's cached thread pool,
          // which cost more CPU than the whole write path under load (bench profile).
          .directExecutor()
          .addStreamTracerFactory(metrics.grpcServerTracer());
      for (ServerInterceptor i : clientInterceptors) {
        builder.intercept(i);
      }
      for (BindableService s : clientServices) {
        builder.addService(s);
      }
      Server server = builder.build().start();
      clientServers.add(server);
      metrics.grpcServices(server.getServices());
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
    if (!config.corruptCheckTime().isZero()) {
      corruptionCheck.startPeriodic(config.corruptCheckTime());
    }
  }

  /**
   * etcd 3.4's gateway with {@code --client-cert-auth}: the gateway's own connection to gRPC would
   * not carry the HTTP client's certificate, so once auth is enabled a {@code /v3/} request from a
   * client whose certificate names a common name is refused with this 400 rather than served as
   * someone else (a token in {@code Authorization} works from a certificate without a CN).
   */
  static HttpGateway.Guard gatewayCommonNameGuard(AuthStore auth) {
    return (tls, path) -> {
      if (!(path.startsWith("/v3/") || path.startsWith("/v3beta/")) || !auth.enabled()) {
        return null;
      }
      String cn = AuthInterceptor.commonName(tls);
      return cn == null || cn.isEmpty()
          ? null
          : HttpGateway.Reply.text(
              io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus.BAD_REQUEST,
              "CommonName of client sending a request against gateway will be ignored and not"
                  + " used as expected\n");
    };
  }

  /** etcd's corruption checks (initial and periodic); null before the services start. */
  public io.etch.server.maintenance.CorruptionCheck corruptionCheck() {
    return corruptionCheck;
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

  /** This member's Prometheus metrics, for {@code GET /metrics}. */
  public EtchMetrics metrics() {
    return metrics;
  }

  /** What the metrics read from this member when scraped. */
  private final class MetricsSource implements EtchMetrics.Source {
    @Override
    public long leader() {
      return raft.leader();
    }

    @Override
    public long memberId() {
      return memberId;
    }

    @Override
    public long committedIndex() {
      return raft.committedIndex();
    }

    @Override
    public long appliedIndex() {
      return raft.appliedIndex();
    }

    @Override
    public long dbSizeInBytes() {
      return store.sizeOnDisk();
    }

    @Override
    public long dbSizeInUseInBytes() {
      return store.sizeInUse();
    }

    @Override
    public long keys() {
      return store.indexedKeys();
    }
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

  public PeerTransport transport() {
    return transport;
  }

  public LeaderForwarder leaderForwarder() {
    return leaderForwarder;
  }

  /** etcd's request timeout: 5 s plus two election timeouts. */
  public Duration requestTimeout() {
    return requestTimeout;
  }

  public ExecutorService responseExecutor() {
    return responseExecutor;
  }

  /**
   * Where the answer to a write proposed from this thread is built and sent: the caller's own Netty
   * event loop when it is one (gRPC calls run there, see {@code directExecutor()} below), else the
   * respond pool. The event loop writes the response anyway, so answering there saves the hop
   * through the pool: one thread wake-up less per write (single-client put latency, issue 5).
   */
  public java.util.concurrent.Executor answerExecutor() {
    java.util.concurrent.Executor loop =
        io.grpc.netty.shaded.io.netty.util.internal.ThreadExecutorMap.currentExecutor();
    return loop != null ? loop : responseExecutor;
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
    if (io.etch.server.maintenance.Quota.addsData(req)) {
      // etcd's quota check: past the quota, raise NOSPACE for this member through raft and refuse.
      if (!quota.available(req)) {
        if (!alarms.raised(io.etch.api.etcdserverpb.AlarmType.NOSPACE)) {
          raiseAlarm(io.etch.api.etcdserverpb.AlarmType.NOSPACE);
        }
        return CompletableFuture.failedFuture(new EtcdStatusException(EtcdStatus.NO_SPACE));
      }
    }
    return awaitApplied(id, raft::propose, data).thenApply(EtchStateMachine.Applied.class::cast);
  }

  /** Proposes ACTIVATE of {@code type} for this member (etcd raises alarms through raft). */
  public CompletableFuture<EtchStateMachine.Applied> raiseAlarm(
      io.etch.api.etcdserverpb.AlarmType type) {
    return propose(
        InternalRequest.newBuilder()
            .setAlarm(
                io.etch.api.etcdserverpb.AlarmRequest.newBuilder()
                    .setAction(io.etch.api.etcdserverpb.AlarmRequest.AlarmAction.ACTIVATE)
                    .setMemberID(memberId)
                    .setAlarm(type)));
  }

  /** The alarms raised in the cluster, as applied here. */
  public io.etch.server.maintenance.Alarms alarms() {
    return alarms;
  }

  /** The backend quota (--quota-backend-bytes) and the store size it compares. */
  public io.etch.server.maintenance.Quota quota() {
    return quota;
  }

  /**
   * Proposes a single membership change and completes with the members after it is applied, or with
   * the etcd error the membership refused it with.
   */
  @SuppressWarnings("unchecked")
  public CompletableFuture<List<MemberRecord>> proposeConfChange(
      ConfChangeType type, long nodeId, MemberRecord member) {
    long id = requestIds.incrementAndGet();
    ConfChange cc =
        ConfChange.single(
            type, nodeId, new ConfChangeContext(id, Optional.ofNullable(member)).encode());
    return awaitApplied(id, raft::proposeConfChange, cc).thenApply(r -> (List<MemberRecord>) r);
  }

  /**
   * Registers a waiter for request {@code id}, hands {@code proposal} to raft, and completes with
   * what apply produced for it; fails if raft refused it, with etcd's timeout if it was not applied
   * within the request timeout, or with the etcd error apply answered (a RuntimeException result).
   */
  private <P> CompletableFuture<Object> awaitApplied(
      long id, java.util.function.Function<P, CompletableFuture<Void>> raftPropose, P proposal) {
    CompletableFuture<Object> result = wait.register(id);
    long started = metrics.proposalStarted();
    raftPropose
        .apply(proposal)
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
              metrics.proposalEnded(started, proposalFailed(err));
              if (err != null) {
                wait.cancel(id);
              }
            })
        .thenApply(
            r -> {
              if (r instanceof RuntimeException ex) {
                throw ex;
              }
              return r;
            });
  }

  /**
   * The store's memory budgets. A member's resident memory is mostly fixed JVM cost plus these: the
   * revisions' RocksDB memtable (native, held until a flush; bin/etch's idle collection flushes
   * it), RocksDB's block cache (native, filled by reads that miss the value cache, among them each
   * overwriting put's read of the previous version; past it reads go to the OS page cache, which is
   * where etcd's bbolt reads from too) and the value cache (heap, kept while the key lives).
   * bench/README.md ("Memory") has the measurements behind the defaults; the system properties
   * {@code etch.kvWriteBufferBytes}, {@code etch.blockCacheBytes} and {@code etch.valueCacheBytes}
   * override them (bin/etch passes ETCH_JAVA_OPTS to the JVM).
   */
  static MvccOptions storeOptions() {
    return MvccOptions.defaults()
        .withKvWriteBufferBytes(Long.getLong("etch.kvWriteBufferBytes", KV_WRITE_BUFFER_BYTES))
        .withValueCacheBytes(Long.getLong("etch.valueCacheBytes", VALUE_CACHE_BYTES))
        .withBlockCacheBytes(Long.getLong("etch.blockCacheBytes", BLOCK_CACHE_BYTES));
  }

  static final long KV_WRITE_BUFFER_BYTES = 16L << 20;
  static final long VALUE_CACHE_BYTES = 1L << 20;
  static final long BLOCK_CACHE_BYTES = 4L << 20;

  /**
   * Whether a proposal failed as etcd counts it (etcd_server_proposals_failed_total): raft refused
   * it, it timed out or the member stopped; not when apply answered it with an etcd error.
   */
  private static boolean proposalFailed(Throwable err) {
    if (err instanceof java.util.concurrent.CompletionException && err.getCause() != null) {
      err = err.getCause();
    }
    if (err == null || err instanceof io.etch.storage.mvcc.EtcdException) {
      return false;
    }
    return !(err instanceof EtcdStatusException e) || e.status() == EtcdStatus.STOPPED;
  }

  /** Completes when this member stopped: closed, or retired after its removal from the cluster. */
  public CompletableFuture<Void> terminated() {
    return terminated;
  }

  /** Stored snapshots kept: the newest few, for followers being caught up and for restarts. */
  private static final int SNAPSHOTS_KEPT = 3;

  private Optional<StoredSnapshot> findSnapshot(long index, long term) throws IOException {
    return snapshots.list().stream()
        .filter(s -> s.index() == index && s.term() == term)
        .findFirst();
  }

  /**
   * The state-machine data for a raft snapshot this member (as leader) sends: a RocksDB checkpoint
   * of the store, saved once per raft snapshot and reused for every follower that needs it. The
   * store has applied at least up to the snapshot's index, so the follower replays (skips) the
   * entries between that index and the checkpoint's consistent index.
   */
  private synchronized SnapshotStream openSnapshot(SnapshotMetadata meta) throws IOException {
    StoredSnapshot s = findSnapshot(meta.index(), meta.term()).orElse(null);
    if (s == null) {
      Path staging = snapshots.newStagingDir();
      Path checkpoint = staging.resolve("db");
      store.checkpoint(checkpoint);
      s = snapshots.save(meta, checkpoint);
      Files.deleteIfExists(staging);
      snapshots.purge(SNAPSHOTS_KEPT);
    }
    return snapshots.stream(s, SnapshotStream.DEFAULT_CHUNK_BYTES);
  }

  /** Where a snapshot from the leader is received; null if it is stored already. */
  private synchronized SnapshotReceiver receiveSnapshot(SnapshotMetadata meta) throws IOException {
    return findSnapshot(meta.index(), meta.term()).isPresent() ? null : snapshots.receive();
  }

  /**
   * Installs a leader's snapshot on the apply thread: the store takes the received checkpoint's
   * contents, then everything derived from the store is rebuilt from it (membership, leases, peers)
   * and watchers are caught up from the new history.
   */
  private void installSnapshot(Snapshot snap) {
    StoredSnapshot s;
    try {
      s =
          findSnapshot(snap.index(), snap.term())
              .orElseThrow(
                  () -> new IOException("no stored data for the snapshot at " + snap.index()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    long before = store.currentRevision();
    store.restore(s.dataDir());
    membership.reload(store.members());
    alarms.reload();
    lessor.recover(store.leases(), store.leasedKeys());
    auth.recover(store);
    Set<Long> ids = new HashSet<>();
    learner = false;
    for (MemberRecord m : store.members()) {
      ids.add(m.id());
      if (m.id() == memberId) {
        learner = m.isLearner();
      }
      if (!m.peerURLs().isEmpty()) {
        transport.updatePeer(m.id(), m.peerURLs().stream().map(URI::create).toList());
      }
    }
    transport.retainPeers(ids);
    memberIds = Set.copyOf(ids);
    watchHub.restored(store.currentRevision());
    log.info(
        "installed snapshot at index {}: store at revision {} (was {}), consistent index {}",
        snap.index(),
        store.currentRevision(),
        before,
        store.consistentIndex());
    try {
      snapshots.purge(SNAPSHOTS_KEPT);
    } catch (IOException e) {
      log.warn("purging old snapshots: {}", e.toString());
    }
  }

  /** What this member answers a member joining the cluster ({@code Raft/Members}). */
  private MembersResponse membersForJoiners() {
    MembersResponse.Builder b = MembersResponse.newBuilder().setClusterId(clusterId);
    for (MemberRecord m : store.members()) {
      b.addMembers(ClusterService.toProto(m));
    }
    return b.build();
  }

  /** Applies committed membership changes to the peer transport, and retires a removed member. */
  private final class MembershipEffects implements Membership.Listener {
    @Override
    public void memberAdded(MemberRecord m) {
      Set<Long> ids = new HashSet<>(memberIds);
      ids.add(m.id());
      memberIds = Set.copyOf(ids);
      if (m.id() == memberId) {
        learner = m.isLearner();
      }
      if (!m.peerURLs().isEmpty()) {
        transport.addPeer(m.id(), m.peerURLs().stream().map(URI::create).toList());
      }
    }

    @Override
    public void memberUpdated(MemberRecord m) {
      if (m.id() == memberId) {
        learner = m.isLearner();
      }
      if (!m.peerURLs().isEmpty()) {
        transport.updatePeer(m.id(), m.peerURLs().stream().map(URI::create).toList());
      }
    }

    @Override
    public void memberRemoved(long id) {
      Set<Long> ids = new HashSet<>(memberIds);
      ids.remove(id);
      memberIds = Set.copyOf(ids);
      if (id != memberId) {
        transport.removePeer(id);
        return;
      }
      // The remaining voters may still need this member (RawNode#canRetire): keep running until
      // raft says they do not, or until every remaining member shows it applied the removal (raft
      // cannot tell a removed follower that, once the leader stops sending to it), then stop as
      // etcd stops a removed member.
      List<URI> remaining = otherPeerUrls();
      Thread t =
          new Thread(
              () -> {
                while (!raft.canRetire()
                    && !othersAppliedRemoval(remaining)
                    && raft.isRunning()
                    && !closed.get()) {
                  try {
                    Thread.sleep(Math.max(50, config.heartbeatInterval().toMillis() * 5));
                  } catch (InterruptedException e) {
                    return;
                  }
                }
                retire();
              },
              "etch-retire");
      t.setDaemon(true);
      t.start();
    }
  }

  /** The first peer URL of every other member this member knows of. */
  private List<URI> otherPeerUrls() {
    List<URI> out = new ArrayList<>();
    for (MemberRecord m : store.members()) {
      if (m.id() != memberId && !m.peerURLs().isEmpty()) {
        out.add(URI.create(m.peerURLs().get(0)));
      }
    }
    return out;
  }

  /**
   * The raft or apply loop stopped on an error: this member can no longer commit or apply, so it
   * stops serving rather than answer from a store that no longer moves (etcd exits on a failed WAL
   * write or apply). Closed from a thread of its own: close() waits for the loop that calls this.
   */
  private void fail(Throwable t) {
    if (failure == null) {
      failure = t;
    }
    if (!closed.get()) {
      log.error("stopping the member after a fatal error: {}", t.toString());
      Thread stop = new Thread(this::close, "etch-fatal-stop");
      stop.setDaemon(true);
      stop.start();
    }
  }

  /** The error that stopped this member on its own ({@link #terminated()}), if any. */
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  private void retire() {
    if (retiring.compareAndSet(false, true) && !closed.get()) {
      log.warn("the member has been permanently removed from the cluster; stopping");
      close();
    }
  }

  /**
   * A peer refused our messages because we are not among its members (etcd's "removed member"
   * answer). That happens to a member removed before it applied its own removal (the leader stopped
   * sending to it first), but also to a new member talking to a peer that has not applied its
   * addition yet; so it only retires once every other member it knows confirms, and checks at most
   * every two seconds.
   */
  private void peerSaysRemoved() {
    long now = System.nanoTime();
    if (retiring.get() || closed.get() || now - lastRemovalCheck < 2_000_000_000L) {
      return;
    }
    lastRemovalCheck = now;
    CompletableFuture.runAsync(
        () -> {
          List<URI> others = otherPeerUrls();
          if (!others.isEmpty() && othersAppliedRemoval(others)) {
            retire();
          }
        });
  }

  /** Whether every member at these peer URLs answers with a membership that no longer has us. */
  private boolean othersAppliedRemoval(List<URI> peers) {
    for (URI u : peers) {
      try {
        MembersResponse r = PeerTransport.fetchMembersFrom(u, Duration.ofSeconds(1), peerClientTls);
        if (r.getMembersList().stream().anyMatch(m -> m.getID() == memberId)) {
          return false;
        }
      } catch (IOException e) {
        return false;
      }
    }
    return true;
  }

  /**
   * A linearizable read barrier: completes once this member applied everything committed before.
   */
  public CompletableFuture<Void> linearizableBarrier() {
    return raft.readIndex()
        .orTimeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .thenCompose(index -> raft.applier().waitApplied(index));
  }

  /** The HTTP gateway on the client port; {@code addGet} adds a route (e.g. /metrics). */
  public HttpGateway httpGateway() {
    return gateway;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      terminated.join();
      return;
    }
    try {
      closeAll();
    } finally {
      terminated.complete(null);
    }
  }

  private void closeAll() {
    watchHub.close(); // ends watch streams, which would otherwise hold the listeners open
    if (corruptionCheck != null) {
      corruptionCheck.close();
    }
    if (gateway != null) {
      gateway.close();
    }
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
    if (leaderForwarder != null) {
      leaderForwarder.close();
    }
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
