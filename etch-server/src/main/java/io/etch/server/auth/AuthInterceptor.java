package io.etch.server.auth;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Carries the token a client sent into the call's gRPC context. etcd clients send it as metadata
 * {@code token} (the JSON gateway as {@code authorization}). Only carried: each service resolves it
 * when, and only if, its RPC needs a user, as etcd does (so Status or MemberList with a stale token
 * still work).
 */
public final class AuthInterceptor implements ServerInterceptor {
  static final Context.Key<String> TOKEN = Context.key("etch-auth-token");
  static final Context.Key<String> COMMON_NAME = Context.key("etch-tls-common-name");
  private static final Metadata.Key<String> TOKEN_MD =
      Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> AUTHORIZATION_MD =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String token = headers.get(TOKEN_MD);
    if (token == null) {
      token = headers.get(AUTHORIZATION_MD);
    }
    String cn = commonName(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (token == null && cn == null) {
      return next.startCall(call, headers);
    }
    Context ctx = Context.current();
    if (token != null) {
      ctx = ctx.withValue(TOKEN, token);
    }
    if (cn != null) {
      ctx = ctx.withValue(COMMON_NAME, cn);
    }
    return Contexts.interceptCall(ctx, call, headers, next);
  }

  /** The common name of a verified peer (client) certificate of a TLS session, or null. */
  public static String commonName(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
        return null;
      }
      for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return String.valueOf(rdn.getValue());
        }
      }
      return null;
    } catch (SSLPeerUnverifiedException | InvalidNameException e) {
      return null; // no client certificate
    }
  }

  static String currentCommonName() {
    return COMMON_NAME.get();
  }

  /** The token of the current call, or null. */
  static String currentToken() {
    return TOKEN.get();
  }
}
