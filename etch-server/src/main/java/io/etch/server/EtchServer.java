package io.etch.server;

import com.google.protobuf.Message;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.internal.InternalRequest;
import io.etch.raft.Bootstrap;
import io.etch.raft.Config;
import io.etch.server.config.EtchConfig;
import io.etch.server.kv.KvService;
import io.etch.server.raft.RaftNode;
import io.etch.server.raft.Transport;
import io.etch.server.watch.WatchHub;
import io.etch.server.watch.WatchService;
import io.etch.storage.mvcc.MvccStore;
import io.etch.storage.wal.WalStorage;
import io.grpc.Server;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
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
  private final ExecutorService responseExecutor;
  private final AtomicLong requestIds;
  private final Duration requestTimeout;

  private EtchServer(EtchConfig config) throws IOException {
    this.config = config;
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
    EtchStateMachine sm = new EtchStateMachine(store, wait, watchHub::publish);
    raft = new RaftNode(rc, wal, Transport.NONE, sm, tickMs, System::nanoTime);
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
    EtchServer s = new EtchServer(config);
    try {
      s.startServices();
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  private void startServices() throws IOException {
    raft.start();
    int maxInbound = config.maxRequestBytes() + 512 * 1024; // etcd's gRPC overhead allowance
    for (URI u : config.listenClientUrls()) {
      Server server =
          NettyServerBuilder.forAddress(new InetSocketAddress(u.getHost(), u.getPort()))
              .maxInboundMessageSize(maxInbound)
              .addService(new KvService(this))
              .addService(new WatchService(watchHub))
              .build()
              .start();
      clientServers.add(server);
      log.info("serving client requests on {}", u.getHost() + ":" + server.getPort());
    }
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

  /** Size check for requests answered without raft (reads). */
  public void checkSize(Message m) {
    if (m.getSerializedSize() > config.maxRequestBytes()) {
      throw new EtcdStatusException(EtcdStatus.REQUEST_TOO_LARGE);
    }
  }

  @Override
  public void close() {
    watchHub.close(); // ends watch streams, which would otherwise hold the listeners open
    for (Server s : clientServers) {
      s.shutdown();
    }
    for (Server s : clientServers) {
      try {
        s.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      s.shutdownNow();
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
