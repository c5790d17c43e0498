package io.etch.cli.ctl;

import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.AuthenticateRequest;
import io.etch.api.etcdserverpb.ClusterGrpc;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.WatchGrpc;
import io.etch.api.v3electionpb.ElectionGrpc;
import io.etch.api.v3lockpb.LockGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.File;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC connection to one endpoint or, balanced, to several with etcdctl's behaviour: TLS when
 * the URL says https or a certificate flag is given, a token from Authenticate when {@code --user}
 * is set, and every unary call bounded by {@code --command-timeout}.
 */
final class Client implements AutoCloseable {
  final String endpoint;
  final Global.Settings s;
  private final ManagedChannel channel;
  private final Channel authed;
  private volatile String token;

  Client(List<String> endpoints, Global.Settings s, String user, String password) {
    this.endpoint = endpoints.get(0);
    this.s = s;
    List<URI> urls = new ArrayList<>();
    boolean tls = s.cacert() != null || s.cert() != null || s.insecureSkipTlsVerify();
    for (String e : endpoints) {
      URI u = URI.create(e.contains("://") ? e : "//" + e);
      if ("unix".equals(u.getScheme()) || u.getHost() == null) {
        throw new CtlException(CtlException.EXIT_ERROR, "bad endpoint " + e);
      }
      tls |= "https".equals(u.getScheme());
      urls.add(u);
    }
    NettyChannelBuilder b;
    if (urls.size() == 1) {
      URI u = urls.get(0);
      b = NettyChannelBuilder.forAddress(u.getHost(), port(u));
    } else {
      // etcdctl 3.4 (clientv3's balancer): every endpoint dialled, calls round robin over those
      // that are up; one down (refused, unreachable) is skipped and redialled in the background.
      b =
          NettyChannelBuilder.forTarget(EndpointsResolver.SCHEME + ":///endpoints")
              .nameResolverFactory(new EndpointsResolver.Factory(urls))
              .defaultLoadBalancingPolicy("round_robin");
    }
    b.maxInboundMessageSize(Integer.MAX_VALUE)
        .withOption(
            io.grpc.netty.shaded.io.netty.channel.ChannelOption.CONNECT_TIMEOUT_MILLIS,
            (int) Math.max(1, s.dialTimeout().toMillis()));
    if (tls) {
      try {
        SslContextBuilder sb = GrpcSslContexts.forClient();
        if (s.insecureSkipTlsVerify()) {
          sb.trustManager(InsecureTrustManagerFactory.INSTANCE);
        } else if (s.cacert() != null) {
          sb.trustManager(new File(s.cacert()));
        }
        if (s.cert() != null && s.key() != null) {
          sb.keyManager(new File(s.cert()), new File(s.key()));
        }
        SslContext ctx = sb.build();
        b.sslContext(ctx);
      } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
        throw new CtlException(CtlException.EXIT_BAD_CONNECTION, e.getMessage());
      }
    } else {
      b.usePlaintext();
    }
    channel = b.build();
    authed = ClientInterceptors.intercept(channel, new TokenInterceptor());
    if (user != null) {
      try {
        token =
            AuthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(deadlineMs(), TimeUnit.MILLISECONDS)
                .authenticate(
                    AuthenticateRequest.newBuilder().setName(user).setPassword(password).build())
                .getToken();
      } catch (StatusRuntimeException e) {
        close();
        // etcdctl fails to build its client: a connection error (exit 2).
        throw new CtlException(CtlException.EXIT_BAD_CONNECTION, message(e));
      }
    }
  }

  static int port(URI u) {
    return u.getPort() < 0 ? 2379 : u.getPort();
  }

  private long deadlineMs() {
    return s.dialTimeout().toMillis() + s.commandTimeout().toMillis();
  }

  private final class TokenInterceptor implements ClientInterceptor {
    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          String t = token;
          if (t != null) {
            headers.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), t);
          }
          super.start(listener, headers);
        }
      };
    }
  }

  KVGrpc.KVBlockingStub kv() {
    return KVGrpc.newBlockingStub(authed).withDeadlineAfter(deadlineMs(), TimeUnit.MILLISECONDS);
  }

  LeaseGrpc.LeaseBlockingStub lease() {
    return LeaseGrpc.newBlockingStub(authed).withDeadlineAfter(deadlineMs(), TimeUnit.MILLISECONDS);
  }

  LeaseGrpc.LeaseStub leaseAsync() {
    return LeaseGrpc.newStub(authed);
  }

  ClusterGrpc.ClusterBlockingStub cluster() {
    return ClusterGrpc.newBlockingStub(authed)
        .withDeadlineAfter(deadlineMs(), TimeUnit.MILLISECONDS);
  }

  MaintenanceGrpc.MaintenanceBlockingStub maintenance() {
    return MaintenanceGrpc.newBlockingStub(authed)
        .withDeadlineAfter(deadlineMs(), TimeUnit.MILLISECONDS);
  }

  AuthGrpc.AuthBlockingStub auth() {
    return AuthGrpc.newBlockingStub(authed).withDeadlineAfter(deadlineMs(), TimeUnit.MILLISECONDS);
  }

  WatchGrpc.WatchStub watch() {
    return WatchGrpc.newStub(authed);
  }

  LockGrpc.LockBlockingStub lock() {
    return LockGrpc.newBlockingStub(authed);
  }

  ElectionGrpc.ElectionBlockingStub election() {
    return ElectionGrpc.newBlockingStub(authed);
  }

  ElectionGrpc.ElectionStub electionAsync() {
    return ElectionGrpc.newStub(authed);
  }

  /** A gRPC failure as etcdctl words it: etcd's own errors by their text, others as Go's grpc. */
  static CtlException error(Throwable t) {
    return new CtlException(CtlException.EXIT_ERROR, message(t));
  }

  static String message(Throwable t) {
    Status st = Status.fromThrowable(t);
    String desc = st.getDescription() == null ? "" : st.getDescription();
    if (st.getCode() == Status.Code.DEADLINE_EXCEEDED
        || (st.getCode() == Status.Code.UNAVAILABLE && !desc.startsWith("etcdserver:"))) {
      return "context deadline exceeded";
    }
    if (desc.startsWith("etcdserver: ")
        || desc.startsWith("mvcc: ")
        || desc.startsWith("auth: ")
        || desc.startsWith("lease: ")) {
      return desc;
    }
    return "rpc error: code = " + goCode(st.getCode()) + " desc = " + desc;
  }

  private static String goCode(Status.Code c) {
    return switch (c) {
      case OK -> "OK";
      case CANCELLED -> "Canceled";
      default -> Go.goName(c.name().toLowerCase(java.util.Locale.ROOT));
    };
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
