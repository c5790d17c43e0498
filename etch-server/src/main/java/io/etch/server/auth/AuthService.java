package io.etch.server.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import io.etch.api.authpb.User;
import io.etch.api.etcdserverpb.AuthDisableRequest;
import io.etch.api.etcdserverpb.AuthDisableResponse;
import io.etch.api.etcdserverpb.AuthEnableRequest;
import io.etch.api.etcdserverpb.AuthEnableResponse;
import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.AuthRoleAddRequest;
import io.etch.api.etcdserverpb.AuthRoleAddResponse;
import io.etch.api.etcdserverpb.AuthRoleDeleteRequest;
import io.etch.api.etcdserverpb.AuthRoleDeleteResponse;
import io.etch.api.etcdserverpb.AuthRoleGetRequest;
import io.etch.api.etcdserverpb.AuthRoleGetResponse;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionResponse;
import io.etch.api.etcdserverpb.AuthRoleListRequest;
import io.etch.api.etcdserverpb.AuthRoleListResponse;
import io.etch.api.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.etch.api.etcdserverpb.AuthRoleRevokePermissionResponse;
import io.etch.api.etcdserverpb.AuthStatusRequest;
import io.etch.api.etcdserverpb.AuthStatusResponse;
import io.etch.api.etcdserverpb.AuthUserAddRequest;
import io.etch.api.etcdserverpb.AuthUserAddResponse;
import io.etch.api.etcdserverpb.AuthUserChangePasswordRequest;
import io.etch.api.etcdserverpb.AuthUserChangePasswordResponse;
import io.etch.api.etcdserverpb.AuthUserDeleteRequest;
import io.etch.api.etcdserverpb.AuthUserDeleteResponse;
import io.etch.api.etcdserverpb.AuthUserGetRequest;
import io.etch.api.etcdserverpb.AuthUserGetResponse;
import io.etch.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etch.api.etcdserverpb.AuthUserGrantRoleResponse;
import io.etch.api.etcdserverpb.AuthUserListRequest;
import io.etch.api.etcdserverpb.AuthUserListResponse;
import io.etch.api.etcdserverpb.AuthUserRevokeRoleRequest;
import io.etch.api.etcdserverpb.AuthUserRevokeRoleResponse;
import io.etch.api.etcdserverpb.AuthenticateRequest;
import io.etch.api.etcdserverpb.AuthenticateResponse;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.internal.InternalAuthenticateRequest;
import io.etch.api.internal.InternalRequest;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.server.EtchServer;
import io.etch.server.EtchStateMachine.Applied;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;

/**
 * etcd's Auth service. Every RPC goes through raft (so all members agree, and reads of users and
 * roles are linearizable), carrying the caller's user and auth revision for apply's checks.
 * Passwords are hashed here with bcrypt ({@code --bcrypt-cost}), before the request enters the log,
 * and checked here at Authenticate; bcrypt runs on the response pool, never on a Netty event loop.
 */
public final class AuthService extends AuthGrpc.AuthImplBase {
  /** bcrypt reads at most 72 bytes of a password. */
  static final int MAX_PASSWORD_BYTES = 72;

  /** Authenticate re-checks when the auth store changed while it ran; bounded, unlike etcd. */
  private static final int AUTHENTICATE_ATTEMPTS = 5;

  private final EtchServer server;
  private final AuthStore auth;

  public AuthService(EtchServer server, AuthStore auth) {
    this.server = server;
    this.auth = auth;
  }

  @Override
  public void authEnable(AuthEnableRequest req, StreamObserver<AuthEnableResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthEnable(req),
        (r, h) -> ((AuthEnableResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void authDisable(AuthDisableRequest req, StreamObserver<AuthDisableResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthDisable(req),
        (r, h) -> ((AuthDisableResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void authStatus(AuthStatusRequest req, StreamObserver<AuthStatusResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthStatus(req),
        (r, h) -> ((AuthStatusResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void authenticate(AuthenticateRequest req, StreamObserver<AuthenticateResponse> out) {
    // etcd: a linearizable read first, so the password is checked against the latest users.
    complete(
        server.linearizableBarrier().thenCompose(v -> attempt(req, AUTHENTICATE_ATTEMPTS)), out);
  }

  private CompletableFuture<AuthenticateResponse> attempt(AuthenticateRequest req, int left) {
    return CompletableFuture.supplyAsync(() -> checkPassword(req), server.responseExecutor())
        .thenCompose(
            checked ->
                server
                    .propose(
                        InternalRequest.newBuilder()
                            .setAuthenticate(
                                InternalAuthenticateRequest.newBuilder()
                                    .setName(req.getName())
                                    .setSimpleToken(auth.newTokenPrefix())))
                    .thenCompose(
                        a -> {
                          // The user may have changed between the check and the apply: check
                          // again against what is current (etcd loops the same way).
                          if (auth.revision() != checked && left > 1) {
                            return attempt(req, left - 1);
                          }
                          return CompletableFuture.completedFuture(
                              ((AuthenticateResponse) a.response())
                                  .toBuilder().setHeader(server.header(a.revision())).build());
                        }));
  }

  /** etcd's CheckPassword: returns the auth revision the password was checked at. */
  private long checkPassword(AuthenticateRequest req) {
    AuthState s = auth.state();
    if (!s.enabled) {
      throw new EtcdStatusException(EtcdStatus.AUTH_NOT_ENABLED);
    }
    User u = s.user(req.getName());
    if (u == null) {
      throw new EtcdStatusException(EtcdStatus.AUTH_FAILED);
    }
    if (u.getOptions().getNoPassword()) {
      throw new EtcdStatusException(EtcdStatus.NO_PASSWORD_USER);
    }
    byte[] pw = req.getPassword().getBytes(StandardCharsets.UTF_8);
    if (pw.length > MAX_PASSWORD_BYTES) {
      pw = Arrays.copyOf(pw, MAX_PASSWORD_BYTES); // what bcrypt would read of it
    }
    byte[] stored = u.getPassword().toByteArray();
    boolean ok;
    try {
      ok = stored.length > 0 && BCrypt.verifyer().verify(pw, stored).verified;
    } catch (IllegalArgumentException e) {
      ok = false;
    }
    if (!ok) {
      throw new EtcdStatusException(EtcdStatus.AUTH_FAILED);
    }
    return s.revision;
  }

  @Override
  public void userAdd(AuthUserAddRequest req, StreamObserver<AuthUserAddResponse> out) {
    AuthInfo who;
    try {
      who = auth.caller();
      auth.checkAdmin(who); // before spending bcrypt on a caller apply would refuse anyway
    } catch (RuntimeException e) {
      out.onError(EtcdStatus.of(e));
      return;
    }
    boolean noPassword = req.getOptions().getNoPassword();
    complete(
        CompletableFuture.supplyAsync(
                () ->
                    req.toBuilder()
                        .setHashedPassword(noPassword ? "" : hash(req.getPassword()))
                        .setPassword("")
                        .build(),
                server.responseExecutor())
            .thenCompose(
                r ->
                    server.propose(auth.stamp(InternalRequest.newBuilder().setAuthUserAdd(r), who)))
            .thenApply(
                a ->
                    ((AuthUserAddResponse) a.response())
                        .toBuilder().setHeader(server.header(a.revision())).build()),
        out);
  }

  @Override
  public void userChangePassword(
      AuthUserChangePasswordRequest req, StreamObserver<AuthUserChangePasswordResponse> out) {
    AuthInfo who;
    try {
      who = auth.caller();
      auth.checkAdmin(who);
    } catch (RuntimeException e) {
      out.onError(EtcdStatus.of(e));
      return;
    }
    complete(
        CompletableFuture.supplyAsync(
                () ->
                    req.toBuilder()
                        .setHashedPassword(hash(req.getPassword()))
                        .setPassword("")
                        .build(),
                server.responseExecutor())
            .thenCompose(
                r ->
                    server.propose(
                        auth.stamp(InternalRequest.newBuilder().setAuthUserChangePassword(r), who)))
            .thenApply(
                a ->
                    ((AuthUserChangePasswordResponse) a.response())
                        .toBuilder().setHeader(server.header(a.revision())).build()),
        out);
  }

  /** bcrypt at {@code --bcrypt-cost}, as base64 text (etcd 3.5's hashedPassword field). */
  private String hash(String password) {
    byte[] pw = password.getBytes(StandardCharsets.UTF_8);
    if (pw.length > MAX_PASSWORD_BYTES) {
      // Newer etcd (Go's bcrypt) refuses such passwords; older ones silently cut them.
      throw new EtcdStatusException(EtcdStatus.PASSWORD_TOO_LONG);
    }
    byte[] h = BCrypt.withDefaults().hash(auth.bcryptCost(), pw);
    return Base64.getEncoder().encodeToString(h);
  }

  @Override
  public void userGet(AuthUserGetRequest req, StreamObserver<AuthUserGetResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthUserGet(req),
        (r, h) -> ((AuthUserGetResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void userList(AuthUserListRequest req, StreamObserver<AuthUserListResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthUserList(req),
        (r, h) -> ((AuthUserListResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void userDelete(AuthUserDeleteRequest req, StreamObserver<AuthUserDeleteResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthUserDelete(req),
        (r, h) -> ((AuthUserDeleteResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void userGrantRole(
      AuthUserGrantRoleRequest req, StreamObserver<AuthUserGrantRoleResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthUserGrantRole(req),
        (r, h) -> ((AuthUserGrantRoleResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void userRevokeRole(
      AuthUserRevokeRoleRequest req, StreamObserver<AuthUserRevokeRoleResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthUserRevokeRole(req),
        (r, h) -> ((AuthUserRevokeRoleResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void roleAdd(AuthRoleAddRequest req, StreamObserver<AuthRoleAddResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthRoleAdd(req),
        (r, h) -> ((AuthRoleAddResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void roleGet(AuthRoleGetRequest req, StreamObserver<AuthRoleGetResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthRoleGet(req),
        (r, h) -> ((AuthRoleGetResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void roleList(AuthRoleListRequest req, StreamObserver<AuthRoleListResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthRoleList(req),
        (r, h) -> ((AuthRoleListResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void roleDelete(AuthRoleDeleteRequest req, StreamObserver<AuthRoleDeleteResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthRoleDelete(req),
        (r, h) -> ((AuthRoleDeleteResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void roleGrantPermission(
      AuthRoleGrantPermissionRequest req, StreamObserver<AuthRoleGrantPermissionResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthRoleGrantPermission(req),
        (r, h) -> ((AuthRoleGrantPermissionResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  @Override
  public void roleRevokePermission(
      AuthRoleRevokePermissionRequest req, StreamObserver<AuthRoleRevokePermissionResponse> out) {
    propose(
        InternalRequest.newBuilder().setAuthRoleRevokePermission(req),
        (r, h) -> ((AuthRoleRevokePermissionResponse) r).toBuilder().setHeader(h).build(),
        out);
  }

  /** Proposes with the caller's user and revision; the apply checks permission (etcd does too). */
  private <T> void propose(
      InternalRequest.Builder req,
      BiFunction<Object, ResponseHeader, T> withHeader,
      StreamObserver<T> out) {
    AuthInfo who;
    try {
      who = auth.caller();
    } catch (RuntimeException e) {
      out.onError(EtcdStatus.of(e));
      return;
    }
    complete(
        server
            .propose(auth.stamp(req, who))
            .thenApply((Applied a) -> withHeader.apply(a.response(), server.header(a.revision()))),
        out);
  }

  private static <T> void complete(CompletableFuture<T> f, StreamObserver<T> out) {
    f.whenComplete(
        (resp, err) -> {
          if (err != null) {
            out.onError(EtcdStatus.of(err));
          } else {
            out.onNext(resp);
            out.onCompleted();
          }
        });
  }
}
