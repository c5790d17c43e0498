package io.etch.server.transport;

import io.etch.storage.membership.MemberRecord;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Channels to the leader's client URLs, for the requests only a leader can answer that etcd
 * forwards to it (a learner's promotion, which needs the leader's view of replication, and lease
 * keep-alives, which only the leader's lessor renews). One channel per URL, kept for reuse.
 */
public final class LeaderForwarder implements AutoCloseable {
  private final long selfId;
  private final LongSupplier leader;
  private final Supplier<List<MemberRecord>> members;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private final SslContext tls;

  /**
   * @param tls the context for {@code https://} client URLs (this member's client certificate and
   *     the client CA), or null when clients are served in plain text
   */
  public LeaderForwarder(
      long selfId, LongSupplier leader, Supplier<List<MemberRecord>> members, SslContext tls) {
    this.selfId = selfId;
    this.leader = leader;
    this.members = members;
    this.tls = tls;
  }

  /**
   * A channel to the current leader's first client URL; empty when there is no leader, this member
   * leads, or the leader has not published its client URLs yet.
   */
  public Optional<ManagedChannel> leaderChannel() {
    long id = leader.getAsLong();
    if (id == 0 || id == selfId || closed) {
      return Optional.empty();
    }
    for (MemberRecord m : members.get()) {
      if (m.id() == id && !m.clientURLs().isEmpty()) {
        String url = m.clientURLs().get(0);
        return Optional.of(channels.computeIfAbsent(url, this::open));
      }
    }
    return Optional.empty();
  }

  private ManagedChannel open(String url) {
    URI u = URI.create(url);
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(u.getHost(), u.getPort());
    if ("https".equals(u.getScheme()) && tls != null) {
      b.sslContext(tls);
    } else {
      b.usePlaintext();
    }
    return b.build();
  }

  @Override
  public void close() {
    closed = true;
    channels.values().forEach(ManagedChannel::shutdownNow);
    channels.clear();
  }
}
