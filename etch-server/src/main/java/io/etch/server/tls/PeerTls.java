package io.etch.server.tls;

import io.etch.server.auth.AuthInterceptor;
import io.etch.server.config.EtchConfig;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS between members ({@code https://} peer URLs): the peer listener uses the same server side as
 * the client URLs ({@link ClientTls}, with {@code --peer-client-cert-auth} requiring a certificate
 * from {@code --peer-trusted-ca-file}); a member dialling a peer presents its peer certificate and
 * verifies the peer's against that CA. With {@code --peer-auto-tls} (self-signed, no CA) traffic is
 * encrypted but not verified, as etcd's auto TLS skips verification.
 */
public final class PeerTls {
  private static final Logger log = LoggerFactory.getLogger(PeerTls.class);

  private PeerTls() {}

  public static SslContext serverContext(EtchConfig.ClientTls c) {
    return ClientTls.serverContext(c);
  }

  /** The context a member dials its peers with. */
  public static SslContext clientContext(EtchConfig.ClientTls c) {
    try {
      if (c.autoGenerate()) {
        SelfSigned.ensure(c.certFile(), c.keyFile());
      }
      // Both re-read their files when they change, as the listening side does: rotation needs
      // no restart on either end of a peer connection.
      SslContextBuilder b =
          SslContextBuilder.forClient()
              .keyManager(new ReloadingKeyManager(c.certFile(), c.keyFile()));
      if (c.trustedCaFile() != null) {
        b.trustManager(new ReloadingTrustManager(c.trustedCaFile()));
      } else if (c.autoGenerate()) {
        b.trustManager(InsecureTrustManagerFactory.INSTANCE);
      }
      GrpcSslContexts.configure(b, SslProvider.JDK);
      return b.build();
    } catch (IOException e) {
      throw new UncheckedIOException("peer TLS: " + e.getMessage(), e);
    }
  }

  /**
   * etcd's {@code --peer-cert-allowed-cn}: a peer whose certificate names another common name is
   * refused.
   */
  public static ServerInterceptor allowedCommonName(String cn) {
    return new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        String got =
            AuthInterceptor.commonName(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
        if (!cn.equals(got)) {
          log.warn("refused peer: certificate CN {} is not the allowed {}", got, cn);
          call.close(
              Status.PERMISSION_DENIED.withDescription(
                  "peer certificate CN " + got + " is not allowed"),
              new Metadata());
          return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
      }
    };
  }
}
