package io.etch.server.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.etch.api.authpb.Role;
import io.etch.api.authpb.User;
import io.etch.api.etcdserverpb.Compare;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.internal.InternalRequest;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.server.config.EtchConfig;
import io.etch.storage.mvcc.MvccStore;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * etcd's auth store on a member: the current {@link AuthState} (written by the apply thread through
 * {@link AuthApplier}, read by any thread), the simple tokens, and the permission checks the
 * services run before they propose or read (etcd's {@code isOpPermitted}, {@code
 * IsAdminPermitted}). The same checks run again at apply against the auth revision the request was
 * checked at.
 *
 * <p>Persisted in the MVCC store's {@code auth} column family, in the same batch as the entry that
 * changed it: {@code enabled} (one byte), {@code revision} (8 bytes), {@code user/<name>} (an
 * authpb.User), {@code role/<name>} (an authpb.Role).
 */
public final class AuthStore {
  static final byte[] KEY_ENABLED = bytes("enabled");
  static final byte[] KEY_REVISION = bytes("revision");
  static final String USER_PREFIX = "user/";
  static final String ROLE_PREFIX = "role/";

  private volatile AuthState state;
  final TokenProvider tokens;
  private final int bcryptCost;
  private final RandomGenerator random;
  private final LongFunction<Set<ByteString>> leaseKeys;
  private volatile boolean useCommonName;

  /**
   * @param leaseKeys the keys attached to a lease (empty when none): a user may revoke a lease, or
   *     attach it to a key, only if it may write every key the lease holds
   */
  public AuthStore(
      MvccStore store,
      EtchConfig.Auth config,
      LongSupplier nanoClock,
      RandomGenerator random,
      LongFunction<Set<ByteString>> leaseKeys) {
    this.tokens =
        config.tokenType().equals("jwt")
            ? JwtTokens.fromOptions(config.tokenOptions())
            : new SimpleTokens(config.tokenTtl().toNanos(), nanoClock);
    this.bcryptCost = config.bcryptCost();
    this.random = random;
    this.leaseKeys = leaseKeys;
    recover(store);
  }

  /**
   * Reloads the state from the store (at start, and after the store is replaced by a snapshot from
   * the leader). Tokens do not survive it, as in etcd.
   */
  public void recover(MvccStore store) {
    boolean[] enabled = {false};
    long[] revision = {0};
    Map<String, User> users = new HashMap<>();
    Map<String, Role> roles = new HashMap<>();
    store.authRecords(
        (k, v) -> {
          String key = new String(k, StandardCharsets.UTF_8);
          try {
            if (key.equals("enabled")) {
              enabled[0] = v.length > 0 && v[0] == 1;
            } else if (key.equals("revision")) {
              revision[0] = ByteBuffer.wrap(v).getLong();
            } else if (key.startsWith(USER_PREFIX)) {
              users.put(key.substring(USER_PREFIX.length()), User.parseFrom(v));
            } else if (key.startsWith(ROLE_PREFIX)) {
              roles.put(key.substring(ROLE_PREFIX.length()), Role.parseFrom(v));
            }
          } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("corrupt auth record " + key, e);
          }
        });
    tokens.clear();
    state = new AuthState(enabled[0], Math.max(1, revision[0]), users, roles);
  }

  AuthState state() {
    return state;
  }

  void publish(AuthState s) {
    state = s;
  }

  public boolean enabled() {
    return state.enabled;
  }

  public long revision() {
    return state.revision;
  }

  int bcryptCost() {
    return bcryptCost;
  }

  String newTokenPrefix() {
    return SimpleTokens.prefix(random);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // ---------------------------------------------------------------------------------------------
  // Who is calling

  /**
   * The caller of the current gRPC call (etcd's {@code AuthInfoFromCtx}): null when auth is off or
   * no token was sent; the token's user and the current auth revision otherwise.
   *
   * @throws EtcdStatusException {@code invalid auth token} for a token this member does not know
   */
  public AuthInfo caller() {
    if (!state.enabled) {
      return null; // the hot path with auth off: no context lookups
    }
    return callerOf(currentCredentials());
  }

  /** What a call presented: its token and its verified client certificate's common name. */
  public record Credentials(String token, String commonName) {}

  /** The current call's credentials, for checks made later on another thread (watch). */
  public static Credentials currentCredentials() {
    return new Credentials(AuthInterceptor.currentToken(), AuthInterceptor.currentCommonName());
  }

  AuthInfo callerOf(Credentials c) {
    AuthInfo who = callerOf(c.token());
    if (who == null && useCommonName && c.commonName() != null && state.enabled) {
      return new AuthInfo(c.commonName(), state.revision);
    }
    return who;
  }

  /**
   * This member's applied raft index, so that a simple token issued at an index not yet applied
   * here is waited for rather than refused (etcd's index waiter).
   */
  public void appliedIndex(LongSupplier applied) {
    if (tokens instanceof SimpleTokens simple) {
      simple.appliedIndex(applied);
    }
  }

  /** With {@code --client-cert-auth}: a verified certificate's common name is the user. */
  public void useCertificateCommonName(boolean on) {
    this.useCommonName = on;
  }

  /** {@link #caller()} for a token captured earlier (a watch stream's). */
  AuthInfo callerOf(String token) {
    AuthState s = state;
    if (!s.enabled || token == null) {
      return null;
    }
    AuthInfo info = tokens.info(token, s.revision);
    if (info == null) {
      throw new EtcdStatusException(EtcdStatus.INVALID_AUTH_TOKEN);
    }
    return info;
  }

  /**
   * Marks a request with who sent it and the auth revision it was checked at. Without a user the
   * revision is still set, so that apply can tell a client's request (which must name a user once
   * auth is on) from the member's own (lease expiry, compaction), which carry revision 0.
   */
  public InternalRequest.Builder stamp(InternalRequest.Builder req, AuthInfo who) {
    if (who == null) {
      return req.setAuthRevision(state.revision);
    }
    return req.setUsername(who.username()).setAuthRevision(who.revision());
  }

  // ---------------------------------------------------------------------------------------------
  // Checks (etcd's isOpPermitted and friends)

  /** READ on {@code [key, rangeEnd)}. */
  public void checkRead(AuthInfo who, ByteString key, ByteString rangeEnd) {
    checkKeys(state, who, key.toByteArray(), rangeEnd.toByteArray(), false);
  }

  public void checkRange(AuthInfo who, RangeRequest r) {
    checkRange(state, who, r);
  }

  public void checkPut(AuthInfo who, PutRequest r) {
    checkPut(state, who, r);
  }

  public void checkDeleteRange(AuthInfo who, DeleteRangeRequest r) {
    checkDeleteRange(state, who, r);
  }

  /** Every compare and every op of both branches, nested txns included. */
  public void checkTxn(AuthInfo who, TxnRequest r) {
    checkTxn(state, who, r);
  }

  /** Revoking a lease deletes its keys: each must be writable (etcd's checkLeasePuts). */
  public void checkLeaseRevoke(AuthInfo who, long leaseId) {
    checkLeaseKeys(state, who, leaseId, true);
  }

  /** A lease's TTL with its keys shows the keys: each must be readable. */
  public void checkLeaseTimeToLive(AuthInfo who, long leaseId) {
    checkLeaseKeys(state, who, leaseId, false);
  }

  /**
   * Whether a watch on the create request's range may start for the stream's token: null when it
   * may, else the cancel reason etcd gives (the gRPC error's text; etcd 3.4.23 observed).
   */
  public String watchDenied(Credentials creds, io.etch.api.etcdserverpb.WatchCreateRequest req) {
    AuthState s = state;
    if (!s.enabled) {
      return null;
    }
    try {
      checkKeys(
          s, callerOf(creds), req.getKey().toByteArray(), req.getRangeEnd().toByteArray(), false);
      return null;
    } catch (EtcdStatusException e) {
      return "rpc error: code = PermissionDenied desc = " + EtcdStatus.PERMISSION_DENIED.message();
    }
  }

  /** Root only (etcd's IsAdminPermitted). */
  public void checkAdmin(AuthInfo who) {
    checkAdmin(state, who);
  }

  /**
   * etcd's serializable-read rule: a read checked at one auth revision is refused if the auth store
   * changed while it ran.
   */
  public void checkStillCurrent(AuthInfo who) {
    if (who != null && who.revision() != state.revision) {
      throw new EtcdStatusException(EtcdStatus.AUTH_OLD_REVISION);
    }
  }

  /**
   * The member's admin checks for Cluster calls: on failure answers {@code out} with etcd's error
   * and returns false.
   */
  public boolean admitAdmin(StreamObserver<?> out) {
    try {
      checkAdmin(caller());
      return true;
    } catch (EtcdStatusException e) {
      out.onError(e.status().exception());
      return false;
    }
  }

  /**
   * The Maintenance calls etcd reserves for root (Hash, HashKV, Defragment, Snapshot). etcd returns
   * its auth errors there unmapped: code Unknown, message {@code auth: ...} (etcd 3.4.23 observed).
   */
  public boolean admitMaintenance(StreamObserver<?> out) {
    try {
      checkAdmin(caller());
      return true;
    } catch (EtcdStatusException e) {
      String raw =
          switch (e.status()) {
            case USER_EMPTY -> "auth: user name is empty";
            case USER_NOT_FOUND -> "auth: user not found";
            case INVALID_AUTH_TOKEN -> "auth: invalid auth token";
            default -> "auth: permission denied";
          };
      out.onError(Status.UNKNOWN.withDescription(raw).asRuntimeException());
      return false;
    }
  }

  static void checkAdmin(AuthState s, AuthInfo who) {
    if (!s.enabled) {
      return;
    }
    if (who == null || who.username().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.USER_EMPTY);
    }
    User u = s.user(who.username());
    if (u == null) {
      throw new EtcdStatusException(EtcdStatus.USER_NOT_FOUND);
    }
    if (!AuthState.hasRootRole(u)) {
      throw new EtcdStatusException(EtcdStatus.PERMISSION_DENIED);
    }
  }

  static void checkRange(AuthState s, AuthInfo who, RangeRequest r) {
    checkKeys(s, who, r.getKey().toByteArray(), r.getRangeEnd().toByteArray(), false);
  }

  void checkPut(AuthState s, AuthInfo who, PutRequest r) {
    byte[] key = r.getKey().toByteArray();
    checkKeys(s, who, key, new byte[0], true);
    if (r.getLease() != 0) {
      // The lease holds keys this user could not write: it could not revoke it, so it may not
      // attach it either (etcd).
      checkLeaseKeys(s, who, r.getLease(), true);
    }
    if (r.getPrevKv()) {
      checkKeys(s, who, key, new byte[0], false);
    }
  }

  static void checkDeleteRange(AuthState s, AuthInfo who, DeleteRangeRequest r) {
    byte[] key = r.getKey().toByteArray();
    byte[] end = r.getRangeEnd().toByteArray();
    checkKeys(s, who, key, end, true);
    if (r.getPrevKv()) {
      checkKeys(s, who, key, end, false);
    }
  }

  void checkTxn(AuthState s, AuthInfo who, TxnRequest r) {
    if (!s.enabled) {
      return;
    }
    if (who == null || who.username().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.USER_EMPTY);
    }
    for (Compare c : r.getCompareList()) {
      checkKeys(s, who, c.getKey().toByteArray(), c.getRangeEnd().toByteArray(), false);
    }
    checkOps(s, who, r.getSuccessList());
    checkOps(s, who, r.getFailureList());
  }

  private void checkOps(AuthState s, AuthInfo who, java.util.List<RequestOp> ops) {
    for (RequestOp op : ops) {
      switch (op.getRequestCase()) {
        case REQUEST_RANGE -> checkRange(s, who, op.getRequestRange());
        case REQUEST_PUT -> checkPut(s, who, op.getRequestPut());
        case REQUEST_DELETE_RANGE -> checkDeleteRange(s, who, op.getRequestDeleteRange());
        case REQUEST_TXN -> checkTxn(s, who, op.getRequestTxn());
        case REQUEST_NOT_SET -> {}
      }
    }
  }

  void checkLeaseKeys(AuthState s, AuthInfo who, long leaseId, boolean forWrite) {
    if (!s.enabled) {
      return;
    }
    for (ByteString k : leaseKeys.apply(leaseId)) {
      checkKeys(s, who, k.toByteArray(), new byte[0], forWrite);
    }
  }

  /** etcd's isOpPermitted: a user, a current auth revision, root or a covering permission. */
  static void checkKeys(AuthState s, AuthInfo who, byte[] key, byte[] rangeEnd, boolean write) {
    if (!s.enabled) {
      return;
    }
    if (who == null || who.username().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.USER_EMPTY);
    }
    if (who.revision() < s.revision) {
      throw new EtcdStatusException(EtcdStatus.AUTH_OLD_REVISION);
    }
    User u = s.user(who.username());
    if (u == null) {
      throw new EtcdStatusException(EtcdStatus.PERMISSION_DENIED);
    }
    if (AuthState.hasRootRole(u)) {
      return;
    }
    if (!s.permissions(u).permits(key, rangeEnd, write)) {
      throw new EtcdStatusException(EtcdStatus.PERMISSION_DENIED);
    }
  }
}
