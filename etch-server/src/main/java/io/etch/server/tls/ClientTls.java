package io.etch.server.tls;

import io.etch.server.config.EtchConfig;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolConfig;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolNames;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * TLS for the client URLs ({@code https://}): the JDK's TLS through Netty, with the certificate,
 * key and trusted CAs re-read when their files change. {@code --client-cert-auth} requires a client
 * certificate chaining to {@code --trusted-ca-file} (etcd's RequireAndVerifyClientCert).
 */
public final class ClientTls {
  private ClientTls() {}

  /** The context of a gRPC-only TLS listener (peers): ALPN {@code h2}. */
  public static SslContext serverContext(EtchConfig.ClientTls c) {
    return serverContext(c, false);
  }

  /**
   * With {@code http1}, ALPN also offers {@code http/1.1}, first: a client offering both (curl, the
   * JDK's HttpClient, browsers) is given HTTP/1.1 for the gateway, a gRPC client (which offers only
   * {@code h2}) still gets {@code h2}. See {@code PortSharing.tls}.
   */
  public static SslContext serverContext(EtchConfig.ClientTls c, boolean http1) {
    try {
      if (c.autoGenerate()) {
        SelfSigned.ensure(c.certFile(), c.keyFile());
      }
      SslContextBuilder b =
          SslContextBuilder.forServer(new ReloadingKeyManager(c.certFile(), c.keyFile()));
      if (c.trustedCaFile() != null) {
        b.trustManager(new ReloadingTrustManager(c.trustedCaFile()));
      }
      b.clientAuth(c.clientCertAuth() ? ClientAuth.REQUIRE : ClientAuth.NONE);
      // gRPC's settings (ALPN h2, HTTP/2-safe ciphers) first, then the operator's choices.
      GrpcSslContexts.configure(b, SslProvider.JDK);
      if (http1) {
        // Netty's server selector picks the first of these the client offered
        b.applicationProtocolConfig(
            new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                ApplicationProtocolNames.HTTP_1_1,
                ApplicationProtocolNames.HTTP_2));
      }
      b.protocols(
          c.minVersion().equals("TLSv1.3")
              ? new String[] {"TLSv1.3"}
              : new String[] {"TLSv1.3", "TLSv1.2"});
      if (!c.cipherSuites().isEmpty()) {
        b.ciphers(c.cipherSuites());
      }
      return b.build();
    } catch (IOException e) {
      throw new UncheckedIOException("client TLS: " + e.getMessage(), e);
    }
  }
}
