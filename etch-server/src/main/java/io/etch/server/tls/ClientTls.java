package io.etch.server.tls;

import io.etch.server.config.EtchConfig;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
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

  public static SslContext serverContext(EtchConfig.ClientTls c) {
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
