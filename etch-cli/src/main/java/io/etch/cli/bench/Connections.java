package io.etch.cli.bench;

import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.AuthenticateRequest;
import io.grpc.ClientInterceptor;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.IoHandlerFactory;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.MetadataUtils;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gRPC connections of a run: {@code --conns} channels, assigned round-robin to the endpoints,
 * each one TCP connection pinned to one Netty event loop. Responses are handled on that event loop
 * (direct executor), so a connection's clients never hop threads.
 *
 * <p>Event loops are shared: {@code --io-threads} of them (default: one per core) serve all the
 * channels, so that on a small machine the client does not run a thread per connection beside the
 * server under test (with 100 connections on 2 cores, 100 loops cost as much or more client CPU per
 * request in our runs, never less). Retries are off: a benchmark counts failures, and the retry
 * buffer costs time on every call.
 */
final class Connections implements AutoCloseable {
  /** One channel and the event loop that runs it (and schedules its paced sends). */
  record Conn(ManagedChannel channel, EventLoop loop) {}

  private final List<Conn> conns = new ArrayList<>();
  private final MultiThreadIoEventLoopGroup group;

  /**
   * Opens {@code count} channels over {@code ioThreads} event loop threads (at most one per
   * channel).
   */
  Connections(List<URI> endpoints, int count, int ioThreads, String user, String cacert) {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends SocketChannel> type = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    group =
        new MultiThreadIoEventLoopGroup(
            Math.max(1, Math.min(ioThreads, count)), daemonThreads("etchctl-io"), io);
    try {
      SslContext tls = null;
      if (endpoints.stream().anyMatch(u -> "https".equals(u.getScheme()))) {
        SslContextBuilder sb = GrpcSslContexts.forClient();
        if (cacert != null) {
          sb.trustManager(new java.io.File(cacert));
        }
        try {
          tls = sb.build();
        } catch (javax.net.ssl.SSLException e) {
          throw new IllegalArgumentException("--cacert " + cacert + ": " + e.getMessage(), e);
        }
      }
      ClientInterceptor token = user == null ? null : token(endpoints.get(0), user, tls);
      for (int i = 0; i < count; i++) {
        URI u = endpoints.get(i % endpoints.size());
        // An EventLoop is a group of one: the channel registers on exactly this loop.
        EventLoop loop = group.next();
        NettyChannelBuilder b = NettyChannelBuilder.forAddress(u.getHost(), u.getPort());
        if (token != null) {
          b.intercept(token);
        }
        if ("https".equals(u.getScheme())) {
          b.sslContext(tls);
        } else {
          b.usePlaintext();
        }
        ManagedChannel ch =
            b.eventLoopGroup(loop)
                .channelType(type)
                .directExecutor()
                .disableRetry()
                .maxInboundMessageSize(64 * 1024 * 1024)
                .build();
        conns.add(new Conn(ch, loop));
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** etcd's Authenticate, once: every request then carries the token as metadata "token". */
  private static ClientInterceptor token(URI endpoint, String user, SslContext tls) {
    int colon = user.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("--user must be username:password");
    }
    NettyChannelBuilder cb = NettyChannelBuilder.forAddress(endpoint.getHost(), endpoint.getPort());
    ManagedChannel ch =
        ("https".equals(endpoint.getScheme()) ? cb.sslContext(tls) : cb.usePlaintext()).build();
    try {
      String t =
          AuthGrpc.newBlockingStub(ch)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .authenticate(
                  AuthenticateRequest.newBuilder()
                      .setName(user.substring(0, colon))
                      .setPassword(user.substring(colon + 1))
                      .build())
              .getToken();
      Metadata md = new Metadata();
      md.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), t);
      return MetadataUtils.newAttachHeadersInterceptor(md);
    } finally {
      ch.shutdownNow();
    }
  }

  int size() {
    return conns.size();
  }

  Conn get(int i) {
    return conns.get(i % conns.size());
  }

  /**
   * Connects every channel before the clock starts, so dialing is not measured. Fails with the
   * endpoint's address when a connection is not ready in time.
   */
  void awaitReady(long timeout, TimeUnit unit) throws InterruptedException {
    CountDownLatch ready = new CountDownLatch(conns.size());
    for (Conn c : conns) {
      watchUntilReady(c.channel(), ready);
    }
    if (!ready.await(timeout, unit)) {
      for (Conn c : conns) {
        if (c.channel().getState(false) != ConnectivityState.READY) {
          throw new IllegalStateException(
              "cannot connect to "
                  + c.channel().authority()
                  + " within "
                  + unit.toSeconds(timeout)
                  + " s (state "
                  + c.channel().getState(false)
                  + ")");
        }
      }
    }
  }

  private static void watchUntilReady(ManagedChannel ch, CountDownLatch ready) {
    ConnectivityState s = ch.getState(true);
    if (s == ConnectivityState.READY) {
      ready.countDown();
      return;
    }
    ch.notifyWhenStateChanged(s, () -> watchUntilReady(ch, ready));
  }

  @Override
  public void close() {
    for (Conn c : conns) {
      c.channel().shutdownNow();
    }
    for (Conn c : conns) {
      try {
        c.channel().awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, n.getAndIncrement() == 0 ? name : name + "-" + n.get());
      t.setDaemon(true);
      return t;
    };
  }
}
