package io.etch.server.auth;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Carries the token a client sent into the call's gRPC context. etcd clients send it as metadata
 * {@code token} (the JSON gateway as {@code authorization}). Only carried: each service resolves it
 * when, and only if, its RPC needs a user, as etcd does (so Status or MemberList with a stale token
 * still work).
 */
public final class AuthInterceptor implements ServerInterceptor {
  static final Context.Key<String> TOKEN = Context.key("etch-auth-token");
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
    if (token == null) {
      return next.startCall(call, headers);
    }
    return Contexts.interceptCall(Context.current().withValue(TOKEN, token), call, headers, next);
  }

  /** The token of the current call, or null. */
  static String currentToken() {
    return TOKEN.get();
  }
}
