package io.etch.server.transport;

import com.google.protobuf.ByteString;
import io.etch.api.internal.MembersRequest;
import io.etch.api.internal.MembersResponse;
import io.etch.api.internal.RaftAck;
import io.etch.api.internal.RaftBatch;
import io.etch.api.internal.RaftGrpc;
import io.etch.api.internal.SnapshotAck;
import io.etch.api.internal.SnapshotChunk;
import io.etch.raft.Message;
import io.etch.raft.MessageType;
import io.etch.raft.SnapshotMetadata;
import io.etch.server.raft.RaftNode;
import io.etch.server.raft.Transport;
import io.etch.storage.snapshot.SnapshotStream;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends raft messages to peers over one long-lived gRPC stream per peer ({@code
 * etchpb.Raft/Stream}), batching whatever queued while the previous batch was written. Never blocks
 * the raft loop: {@link #send} only enqueues; one sender thread per peer writes, reconnects with
 * backoff, and reports a peer it cannot reach to raft (which then probes it again). A full queue
 * drops messages, as a lossy network would: raft retransmits. Snapshots go on a separate stream
 * ({@code etchpb.Raft/Snapshot}) in chunks, one per peer at a time, from a thread of their own.
 */
public final class PeerTransport implements Transport, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeerTransport.class);
  static final Metadata.Key<String> CLUSTER_ID =
      Metadata.Key.of("etch-cluster-id", Metadata.ASCII_STRING_MARSHALLER);

  /** The sending member's id (hex) on every peer call. */
  public static final Metadata.Key<String> FROM_ID =
      Metadata.Key.of("etch-member-id", Metadata.ASCII_STRING_MARSHALLER);

  private static final int QUEUE_LIMIT = 8192;
  private static final int MAX_BATCH = 512;

  /**
   * How often each sender measures its peer's round trip when a {@link Listener} wants it: an empty
   * batch on the raft stream, which the receiver acknowledges (etcd probes every peer every few
   * seconds for {@code etcd_network_peer_round_trip_time_seconds}).
   */
  static final long PROBE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final long selfId;
  private final long clusterId;
  private final SslContext tls;
  private final Map<Long, Peer> peers = new ConcurrentHashMap<>();
  private volatile RaftNode raft;
  private volatile boolean closed;
  private volatile Set<Long> blocked = Set.of();
  private volatile SnapshotSource snapshots;
  private volatile Runnable onRemoved = () -> {};
  private final Set<Long> sendingSnapshotTo = ConcurrentHashMap.newKeySet();
  private volatile Listener listener = Listener.NONE;

  /**
   * Told of the traffic to each peer (metrics). Called on a peer's sender thread or a gRPC thread:
   * must be quick and must not block.
   */
  public interface Listener {
    Listener NONE = new Listener() {};

    /** {@code bytes} of raft messages or snapshot data went to peer {@code to}. */
    default void sent(long to, long bytes) {}

    /** A probe to peer {@code to} came back after {@code nanos}. */
    default void roundTrip(long to, long nanos) {}
  }

  /**
   * Where a leader gets the state-machine snapshot that goes with a raft snapshot it sends: a
   * stream of the stored snapshot for that raft metadata (made from the store if needed).
   */
  public interface SnapshotSource {
    SnapshotStream open(SnapshotMetadata meta) throws IOException;
  }

  /**
   * @param tls the context for dialling {@code https://} peer URLs (peer TLS), or null
   */
  public PeerTransport(long selfId, long clusterId, SslContext tls) {
    this.selfId = selfId;
    this.clusterId = clusterId;
    this.tls = tls;
  }

  /** A channel to a peer URL: TLS for {@code https://} (with the peer certificate), else plain. */
  static ManagedChannel channel(URI url, SslContext tls) {
    NettyChannelBuilder b =
        NettyChannelBuilder.forAddress(url.getHost(), url.getPort())
            .maxInboundMessageSize(64 << 20);
    if ("https".equals(url.getScheme())) {
      if (tls == null) {
        throw new IllegalArgumentException(
            "peer URL " + url + " needs peer TLS (--peer-cert-file, --peer-key-file)");
      }
      b.sslContext(tls);
    } else {
      b.usePlaintext();
    }
    return b.build();
  }

  /** Sets who is told of peer traffic; with one set, every peer's round trip is probed. */
  public void listener(Listener listener) {
    this.listener = listener == null ? Listener.NONE : listener;
  }

  /** Set once the raft node exists (it is built with this transport). */
  public void bind(RaftNode raft, SnapshotSource snapshots) {
    this.raft = raft;
    this.snapshots = snapshots;
  }

  public void addPeer(long id, List<URI> urls) {
    if (id == selfId) {
      return;
    }
    peers.computeIfAbsent(id, k -> new Peer(id, urls.get(0)));
  }

  /** A member's peer URLs changed (etcd's MemberUpdate): reconnect to the new ones. */
  public void updatePeer(long id, List<URI> urls) {
    if (id == selfId) {
      return;
    }
    Peer old = peers.get(id);
    if (old != null && old.url.equals(urls.get(0))) {
      return;
    }
    removePeer(id);
    addPeer(id, urls);
  }

  /** Called when a peer refuses this member's messages as those of a removed member. */
  public void onRemoved(Runnable r) {
    this.onRemoved = r;
  }

  /** Drops every peer not in {@code ids} (after a snapshot replaced the membership). */
  public void retainPeers(Set<Long> ids) {
    for (Long id : List.copyOf(peers.keySet())) {
      if (!ids.contains(id)) {
        removePeer(id);
      }
    }
  }

  public void removePeer(long id) {
    Peer p = peers.remove(id);
    if (p != null) {
      p.close();
    }
  }

  /**
   * Drops every raft message to and from these members, as a network partition would (fault
   * injection in tests; the empty set heals).
   */
  public void block(Set<Long> ids) {
    blocked = Set.copyOf(ids);
  }

  /** Whether messages from this member are to be dropped (see {@link #block}). */
  public boolean blocks(long id) {
    return blocked.contains(id);
  }

  @Override
  public void send(List<Message> messages) {
    Set<Long> dropped = blocked;
    for (Message m : messages) {
      Peer p = peers.get(m.to());
      if (p == null || dropped.contains(m.to())) {
        // Not (or no longer) a member we know how to reach. A snapshot raft waits to hear about.
        if (m.type() == MessageType.SNAP && raft != null) {
          raft.reportSnapshot(m.to(), false);
        }
        continue;
      }
      if (m.type() == MessageType.SNAP) {
        // Snapshots travel on their own stream, off the raft loop; one at a time per peer (raft
        // waits for the report of the one in flight before sending another).
        if (sendingSnapshotTo.add(m.to())) {
          Thread t = new Thread(() -> sendSnapshot(p, m), "etch-snap-send");
          t.setDaemon(true);
          t.start();
        }
        continue;
      }
      if (!p.queue.offer(m)) {
        RaftNode r = raft;
        if (r != null) {
          r.reportUnreachable(m.to());
        }
      }
    }
  }

  /**
   * Asks the members at {@code peerUrls}, in turn, for the cluster's ID and members (joining with
   * {@code --initial-cluster-state existing}); fails if none answers.
   */
  public static MembersResponse fetchMembers(List<URI> peerUrls, Duration timeout, SslContext tls)
      throws IOException {
    IOException last = new IOException("no peer URLs to ask");
    for (URI u : peerUrls) {
      try {
        return fetchMembersFrom(u, timeout, tls);
      } catch (IOException e) {
        last = e;
      }
    }
    throw last;
  }

  /** Asks the member at {@code peerUrl} for the cluster's ID and members as it applied them. */
  public static MembersResponse fetchMembersFrom(URI peerUrl, Duration timeout, SslContext tls)
      throws IOException {
    ManagedChannel ch = channel(peerUrl, tls);
    try {
      return RaftGrpc.newBlockingStub(ch)
          .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .members(MembersRequest.getDefaultInstance());
    } catch (RuntimeException e) {
      throw new IOException("cannot fetch the cluster's members from " + peerUrl + ": " + e, e);
    } finally {
      ch.shutdownNow();
    }
  }

  /**
   * Streams the state-machine snapshot for SNAP message {@code m} to peer {@code p} in chunks,
   * respecting gRPC flow control, then tells raft whether the peer stored it.
   */
  private void sendSnapshot(Peer p, Message m) {
    boolean ok = false;
    long started = System.nanoTime();
    long bytes = 0;
    try (SnapshotStream stream = snapshots.open(m.snapshot().metadata())) {
      CompletableFuture<SnapshotAck> ack = new CompletableFuture<>();
      ClientCallStreamObserver<SnapshotChunk> out =
          (ClientCallStreamObserver<SnapshotChunk>)
              RaftGrpc.newStub(p.channel)
                  .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers()))
                  .snapshot(
                      new StreamObserver<>() {
                        @Override
                        public void onNext(SnapshotAck value) {
                          ack.complete(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                          ack.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {
                          ack.completeExceptionally(
                              new IOException("snapshot stream closed without an answer"));
                        }
                      });
      out.onNext(SnapshotChunk.newBuilder().setMessage(RaftCodec.encode(m)).build());
      while (stream.hasNext()) {
        while (!out.isReady() && !ack.isDone() && !closed) {
          Thread.sleep(1); // flow control: wait until the receiver takes more
        }
        if (ack.isDone() || closed) {
          break;
        }
        byte[] chunk = stream.next();
        bytes += chunk.length;
        out.onNext(SnapshotChunk.newBuilder().setData(ByteString.copyFrom(chunk)).build());
        listener.sent(p.id, chunk.length);
      }
      out.onCompleted();
      SnapshotAck a = ack.get(10, TimeUnit.MINUTES);
      ok = a.getOk();
      if (ok) {
        log.info(
            "sent snapshot at index {} ({} bytes) to {} in {} ms",
            m.snapshot().index(),
            bytes,
            Long.toHexString(p.id),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      } else {
        log.warn("peer {} refused snapshot: {}", Long.toHexString(p.id), a.getError());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("sending snapshot to {} failed: {}", Long.toHexString(p.id), e.toString());
    } finally {
      sendingSnapshotTo.remove(p.id);
      RaftNode r = raft;
      if (r != null) {
        r.reportSnapshot(p.id, ok);
      }
    }
  }

  private Metadata headers() {
    Metadata md = new Metadata();
    md.put(CLUSTER_ID, Long.toHexString(clusterId));
    md.put(FROM_ID, Long.toHexString(selfId));
    return md;
  }

  @Override
  public void close() {
    closed = true;
    for (Peer p : peers.values()) {
      p.close();
    }
    peers.clear();
  }

  /** One peer: its channel, queue and sender thread. */
  private final class Peer {
    final long id;
    final URI url;
    final ManagedChannel channel;
    final LinkedBlockingQueue<Message> queue = new LinkedBlockingQueue<>(QUEUE_LIMIT);
    final Thread sender;
    volatile boolean stopped;
    StreamObserver<RaftBatch> stream; // confined to the sender thread
    volatile boolean broken;
    long seq;
    // The probe in flight: its batch seq and when it was sent (written by the sender thread).
    volatile long probeSeq;
    volatile long probeSentAt;

    Peer(long id, URI url) {
      this.id = id;
      this.url = url;
      this.channel = channel(url, tls);
      this.sender = new Thread(this::run, "etch-peer-" + Long.toHexString(id));
      this.sender.setDaemon(true);
      this.sender.start();
    }

    private void run() {
      List<Message> batch = new ArrayList<>(MAX_BATCH);
      long backoffMs = 50;
      long nextProbe = System.nanoTime() + PROBE_INTERVAL_NANOS;
      while (!stopped && !closed) {
        try {
          boolean probing = listener != Listener.NONE;
          long waitMs = 200;
          if (probing) {
            long untilProbe = TimeUnit.NANOSECONDS.toMillis(nextProbe - System.nanoTime());
            waitMs = Math.max(0, Math.min(waitMs, untilProbe));
          }
          Message first = queue.poll(waitMs, TimeUnit.MILLISECONDS);
          boolean probe = probing && System.nanoTime() - nextProbe >= 0;
          if (first == null && !probe) {
            continue;
          }
          if (first != null) {
            batch.add(first);
            queue.drainTo(batch, MAX_BATCH - 1);
          }
          if (stream == null || broken) {
            if (stream != null) {
              // Reconnect now rather than after gRPC's own backoff (up to minutes): raft has its
              // own retry pacing and a member restarting must be reachable again at once.
              channel.resetConnectBackoff();
            }
            broken = false;
            stream = open();
          }
          if (!batch.isEmpty()) {
            RaftBatch.Builder b = RaftBatch.newBuilder().setSeq(++seq);
            for (Message m : batch) {
              b.addMessages(RaftCodec.encode(m));
            }
            RaftBatch out = b.build();
            stream.onNext(out);
            batch.clear();
            listener.sent(id, out.getSerializedSize()); // memoized by the marshaller
          }
          if (probe) {
            nextProbe = System.nanoTime() + PROBE_INTERVAL_NANOS;
            probeSeq = ++seq;
            probeSentAt = System.nanoTime();
            stream.onNext(RaftBatch.newBuilder().setSeq(probeSeq).build());
          }
          backoffMs = 50;
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          // The stream failed: drop this batch (raft retransmits), tell raft, back off.
          batch.clear();
          broken = true;
          RaftNode r = raft;
          if (r != null) {
            r.reportUnreachable(id);
          }
          log.debug("peer {} unreachable: {}", Long.toHexString(id), e.toString());
          try {
            Thread.sleep(backoffMs);
          } catch (InterruptedException ie) {
            return;
          }
          backoffMs = Math.min(backoffMs * 2, 1000);
        }
      }
    }

    private StreamObserver<RaftBatch> open() {
      return RaftGrpc.newStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers()))
          .stream(
              new StreamObserver<RaftAck>() {
                @Override
                public void onNext(RaftAck value) {
                  // Only probes (empty batches) are acknowledged.
                  if (value.getSeq() == probeSeq) {
                    listener.roundTrip(id, System.nanoTime() - probeSentAt);
                  }
                }

                @Override
                public void onError(Throwable t) {
                  log.debug("stream to {} failed: {}", Long.toHexString(id), t.toString());
                  broken = true;
                  String why = io.grpc.Status.fromThrowable(t).getDescription();
                  if (why != null && why.equals(PeerService.REMOVED)) {
                    onRemoved.run();
                  }
                  RaftNode r = raft;
                  if (r != null) {
                    r.reportUnreachable(id);
                  }
                }

                @Override
                public void onCompleted() {
                  broken = true;
                }
              });
    }

    void close() {
      stopped = true;
      sender.interrupt();
      channel.shutdownNow();
    }
  }
}
