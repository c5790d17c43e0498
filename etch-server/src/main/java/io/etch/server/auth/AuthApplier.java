package io.etch.server.auth;

import com.google.protobuf.ByteString;
import io.etch.api.authpb.Permission;
import io.etch.api.authpb.Role;
import io.etch.api.authpb.User;
import io.etch.api.authpb.UserAddOptions;
import io.etch.api.etcdserverpb.AuthDisableResponse;
import io.etch.api.etcdserverpb.AuthEnableResponse;
import io.etch.api.etcdserverpb.AuthRoleAddRequest;
import io.etch.api.etcdserverpb.AuthRoleAddResponse;
import io.etch.api.etcdserverpb.AuthRoleDeleteResponse;
import io.etch.api.etcdserverpb.AuthRoleGetResponse;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionResponse;
import io.etch.api.etcdserverpb.AuthRoleListResponse;
import io.etch.api.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.etch.api.etcdserverpb.AuthRoleRevokePermissionResponse;
import io.etch.api.etcdserverpb.AuthStatusResponse;
import io.etch.api.etcdserverpb.AuthUserAddRequest;
import io.etch.api.etcdserverpb.AuthUserAddResponse;
import io.etch.api.etcdserverpb.AuthUserChangePasswordRequest;
import io.etch.api.etcdserverpb.AuthUserChangePasswordResponse;
import io.etch.api.etcdserverpb.AuthUserDeleteResponse;
import io.etch.api.etcdserverpb.AuthUserGetResponse;
import io.etch.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etch.api.etcdserverpb.AuthUserGrantRoleResponse;
import io.etch.api.etcdserverpb.AuthUserListResponse;
import io.etch.api.etcdserverpb.AuthUserRevokeRoleRequest;
import io.etch.api.etcdserverpb.AuthUserRevokeRoleResponse;
import io.etch.api.etcdserverpb.AuthenticateResponse;
import io.etch.api.internal.InternalAuthenticateRequest;
import io.etch.api.internal.InternalRequest;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.server.EtchStateMachine.Applied;
import io.etch.storage.mvcc.ApplyBatch;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies Auth requests committed through raft (etcd's {@code authStore} mutations and {@code
 * authApplierV3}), and re-checks every client request's permissions at apply time against the auth
 * revision it was checked at. Confined to the apply thread; every member applies the same entries
 * to the same state, so auth state is identical everywhere. Never hashes a password: the proposing
 * member did that before the request entered the log.
 */
public final class AuthApplier {
  private static final Logger log = LoggerFactory.getLogger(AuthApplier.class);

  /** etcd's rootPerm: what RoleGet shows for root: READWRITE on every key. */
  private static final Permission ROOT_PERM =
      Permission.newBuilder()
          .setPermType(Permission.Type.READWRITE)
          .setKey(ByteString.EMPTY)
          .setRangeEnd(ByteString.copyFrom(new byte[] {0}))
          .build();

  private final AuthStore auth;

  public AuthApplier(AuthStore auth) {
    this.auth = auth;
  }

  /** Whether {@code req} is one this applier answers (rather than the KV or lease appliers). */
  public boolean handles(InternalRequest req) {
    return switch (req.getRequestCase()) {
      case AUTH_ENABLE,
          AUTH_DISABLE,
          AUTH_STATUS,
          AUTHENTICATE,
          AUTH_USER_ADD,
          AUTH_USER_DELETE,
          AUTH_USER_GET,
          AUTH_USER_CHANGE_PASSWORD,
          AUTH_USER_GRANT_ROLE,
          AUTH_USER_REVOKE_ROLE,
          AUTH_USER_LIST,
          AUTH_ROLE_ADD,
          AUTH_ROLE_GET,
          AUTH_ROLE_DELETE,
          AUTH_ROLE_GRANT_PERMISSION,
          AUTH_ROLE_REVOKE_PERMISSION,
          AUTH_ROLE_LIST ->
          true;
      default -> false;
    };
  }

  /**
   * The apply-time permission check (etcd's authApplierV3): a client's key request needs a user, an
   * auth revision no older than the store's, and permission on every key it touches; Auth
   * management needs root. The member's own requests (revision 0, no user: lease expiry,
   * compaction, publishing) pass.
   *
   * @throws EtcdStatusException with the etcd error the request fails with
   */
  public void check(InternalRequest req) {
    AuthState s = auth.state();
    if (!s.enabled) {
      return;
    }
    boolean own = req.getAuthRevision() == 0 && req.getUsername().isEmpty();
    AuthInfo who =
        req.getUsername().isEmpty() ? null : new AuthInfo(req.getUsername(), req.getAuthRevision());
    switch (req.getRequestCase()) {
      case RANGE -> {
        if (!own) {
          AuthStore.checkRange(s, who, req.getRange());
        }
      }
      case PUT -> {
        if (!own) {
          auth.checkPut(s, who, req.getPut());
        }
      }
      case DELETE_RANGE -> {
        if (!own) {
          AuthStore.checkDeleteRange(s, who, req.getDeleteRange());
        }
      }
      case TXN -> {
        if (!own) {
          if (who == null) {
            throw new EtcdStatusException(EtcdStatus.USER_EMPTY);
          }
          auth.checkTxn(s, who, req.getTxn());
        }
      }
      case LEASE_REVOKE -> {
        if (!own) {
          auth.checkLeaseKeys(s, who, req.getLeaseRevoke().getID(), true);
        }
      }
      case AUTHENTICATE -> {}
      case AUTH_USER_GET -> {
        // A user may read its own record.
        if (who == null || !who.username().equals(req.getAuthUserGet().getName())) {
          AuthStore.checkAdmin(s, who);
        }
      }
      case AUTH_ROLE_GET -> {
        // A user may read the roles it holds.
        User u = who == null ? null : s.user(who.username());
        if (u == null || !u.getRolesList().contains(req.getAuthRoleGet().getRole())) {
          AuthStore.checkAdmin(s, who);
        }
      }
      default -> {
        if (handles(req)) {
          AuthStore.checkAdmin(s, who);
        }
      }
    }
  }

  /**
   * Applies one Auth request and returns its result ({@link Applied} with the response, header left
   * to the service).
   *
   * @param index the raft index of the entry (part of a simple token)
   * @throws EtcdStatusException with etcd's error; nothing is written then
   */
  public Applied apply(ApplyBatch b, InternalRequest req, long index) {
    AuthState s = auth.state();
    Object response =
        switch (req.getRequestCase()) {
          case AUTH_ENABLE -> enable(b, s);
          case AUTH_DISABLE -> disable(b, s);
          case AUTH_STATUS ->
              AuthStatusResponse.newBuilder()
                  .setEnabled(s.enabled)
                  .setAuthRevision(s.revision)
                  .build();
          case AUTHENTICATE -> authenticate(s, req.getAuthenticate(), index);
          case AUTH_USER_ADD -> userAdd(b, s, req.getAuthUserAdd());
          case AUTH_USER_DELETE -> userDelete(b, s, req.getAuthUserDelete().getName());
          case AUTH_USER_GET ->
              AuthUserGetResponse.newBuilder()
                  .addAllRoles(existingUser(s, req.getAuthUserGet().getName()).getRolesList())
                  .build();
          case AUTH_USER_CHANGE_PASSWORD ->
              userChangePassword(b, s, req.getAuthUserChangePassword());
          case AUTH_USER_GRANT_ROLE -> userGrantRole(b, s, req.getAuthUserGrantRole());
          case AUTH_USER_REVOKE_ROLE -> userRevokeRole(b, s, req.getAuthUserRevokeRole());
          case AUTH_USER_LIST ->
              AuthUserListResponse.newBuilder().addAllUsers(s.users.keySet()).build();
          case AUTH_ROLE_ADD -> roleAdd(b, s, req.getAuthRoleAdd());
          case AUTH_ROLE_GET -> roleGet(s, req.getAuthRoleGet().getRole());
          case AUTH_ROLE_DELETE -> roleDelete(b, s, req.getAuthRoleDelete().getRole());
          case AUTH_ROLE_GRANT_PERMISSION ->
              roleGrantPermission(b, s, req.getAuthRoleGrantPermission());
          case AUTH_ROLE_REVOKE_PERMISSION ->
              roleRevokePermission(b, s, req.getAuthRoleRevokePermission());
          case AUTH_ROLE_LIST ->
              AuthRoleListResponse.newBuilder().addAllRoles(s.roles.keySet()).build();
          default ->
              throw new IllegalArgumentException("not an auth request: " + req.getRequestCase());
        };
    return new Applied(response, b.revision());
  }

  private Object enable(ApplyBatch b, AuthState s) {
    if (s.enabled) {
      return AuthEnableResponse.getDefaultInstance(); // etcd ignores a second enable
    }
    User root = s.user(AuthState.ROOT);
    if (root == null) {
      throw new EtcdStatusException(EtcdStatus.ROOT_USER_NOT_EXIST);
    }
    if (!AuthState.hasRootRole(root)) {
      throw new EtcdStatusException(EtcdStatus.ROOT_ROLE_NOT_EXIST);
    }
    // etcd leaves the auth revision as it is on enable.
    b.putAuth(AuthStore.KEY_ENABLED, new byte[] {1});
    auth.publish(s.withEnabled(true, s.revision));
    log.info("enabled authentication");
    return AuthEnableResponse.getDefaultInstance();
  }

  private Object disable(ApplyBatch b, AuthState s) {
    if (s.enabled) {
      b.putAuth(AuthStore.KEY_ENABLED, new byte[] {0});
      AuthState next = s.withEnabled(false, s.revision + 1);
      saveRevision(b, next);
      auth.publish(next);
      auth.tokens.clear();
      log.info("disabled authentication");
    }
    return AuthDisableResponse.getDefaultInstance();
  }

  private Object authenticate(AuthState s, InternalAuthenticateRequest r, long index) {
    if (!s.enabled) {
      throw new EtcdStatusException(EtcdStatus.AUTH_NOT_ENABLED);
    }
    User u = s.user(r.getName());
    if (u == null || u.getOptions().getNoPassword()) {
      throw new EtcdStatusException(EtcdStatus.AUTH_FAILED);
    }
    String token = auth.tokens.assign(r.getSimpleToken(), index, r.getName(), s.revision);
    return AuthenticateResponse.newBuilder().setToken(token).build();
  }

  private Object userAdd(ApplyBatch b, AuthState s, AuthUserAddRequest r) {
    if (r.getName().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.USER_EMPTY);
    }
    if (s.user(r.getName()) != null) {
      throw new EtcdStatusException(EtcdStatus.USER_ALREADY_EXIST);
    }
    UserAddOptions options = r.getOptions();
    User.Builder u = User.newBuilder().setName(ByteString.copyFromUtf8(r.getName()));
    u.setOptions(options);
    if (!options.getNoPassword()) {
      u.setPassword(hash(r.getHashedPassword()));
    }
    saveUser(b, s.withUser(r.getName(), u.build()), r.getName());
    log.info("added user {}", r.getName());
    return AuthUserAddResponse.getDefaultInstance();
  }

  private Object userDelete(ApplyBatch b, AuthState s, String name) {
    if (s.enabled && name.equals(AuthState.ROOT)) {
      throw new EtcdStatusException(EtcdStatus.INVALID_AUTH_MGMT);
    }
    existingUser(s, name);
    AuthState next = s.withUser(name, null);
    b.deleteAuth(AuthStore.bytes(AuthStore.USER_PREFIX + name));
    saveRevision(b, next);
    auth.publish(next);
    auth.tokens.invalidateUser(name);
    log.info("deleted user {}", name);
    return AuthUserDeleteResponse.getDefaultInstance();
  }

  private Object userChangePassword(ApplyBatch b, AuthState s, AuthUserChangePasswordRequest r) {
    User u = existingUser(s, r.getName());
    User.Builder updated = u.toBuilder();
    if (!u.getOptions().getNoPassword()) {
      updated.setPassword(hash(r.getHashedPassword()));
    }
    saveUser(b, s.withUser(r.getName(), updated.build()), r.getName());
    auth.tokens.invalidateUser(r.getName());
    log.info("changed the password of user {}", r.getName());
    return AuthUserChangePasswordResponse.getDefaultInstance();
  }

  private Object userGrantRole(ApplyBatch b, AuthState s, AuthUserGrantRoleRequest r) {
    User u = existingUser(s, r.getUser());
    // The root role needs no RoleAdd to be granted (etcd).
    if (!r.getRole().equals(AuthState.ROOT) && !s.roles.containsKey(r.getRole())) {
      throw new EtcdStatusException(EtcdStatus.ROLE_NOT_FOUND);
    }
    if (u.getRolesList().contains(r.getRole())) {
      return AuthUserGrantRoleResponse.getDefaultInstance(); // etcd ignores a duplicate grant
    }
    List<String> roles = new ArrayList<>(u.getRolesList());
    roles.add(r.getRole());
    roles.sort(Comparator.naturalOrder());
    saveUser(
        b,
        s.withUser(r.getUser(), u.toBuilder().clearRoles().addAllRoles(roles).build()),
        r.getUser());
    log.info("granted role {} to user {}", r.getRole(), r.getUser());
    return AuthUserGrantRoleResponse.getDefaultInstance();
  }

  private Object userRevokeRole(ApplyBatch b, AuthState s, AuthUserRevokeRoleRequest r) {
    if (s.enabled && r.getName().equals(AuthState.ROOT) && r.getRole().equals(AuthState.ROOT)) {
      throw new EtcdStatusException(EtcdStatus.INVALID_AUTH_MGMT);
    }
    User u = existingUser(s, r.getName());
    List<String> roles = new ArrayList<>(u.getRolesList());
    if (!roles.remove(r.getRole())) {
      throw new EtcdStatusException(EtcdStatus.ROLE_NOT_GRANTED);
    }
    saveUser(
        b,
        s.withUser(r.getName(), u.toBuilder().clearRoles().addAllRoles(roles).build()),
        r.getName());
    log.info("revoked role {} from user {}", r.getRole(), r.getName());
    return AuthUserRevokeRoleResponse.getDefaultInstance();
  }

  private Object roleAdd(ApplyBatch b, AuthState s, AuthRoleAddRequest r) {
    if (r.getName().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.ROLE_EMPTY);
    }
    if (s.roles.containsKey(r.getName())) {
      throw new EtcdStatusException(EtcdStatus.ROLE_ALREADY_EXIST);
    }
    saveRole(
        b,
        s.withRole(
            r.getName(), Role.newBuilder().setName(ByteString.copyFromUtf8(r.getName())).build()),
        r.getName());
    log.info("added role {}", r.getName());
    return AuthRoleAddResponse.getDefaultInstance();
  }

  private static Object roleGet(AuthState s, String name) {
    Role role = s.roles.get(name);
    if (role == null) {
      throw new EtcdStatusException(EtcdStatus.ROLE_NOT_FOUND);
    }
    AuthRoleGetResponse.Builder resp = AuthRoleGetResponse.newBuilder();
    if (name.equals(AuthState.ROOT)) {
      resp.addPerm(ROOT_PERM);
    } else {
      resp.addAllPerm(role.getKeyPermissionList());
    }
    return resp.build();
  }

  private Object roleDelete(ApplyBatch b, AuthState s, String name) {
    if (s.enabled && name.equals(AuthState.ROOT)) {
      throw new EtcdStatusException(EtcdStatus.INVALID_AUTH_MGMT);
    }
    if (!s.roles.containsKey(name)) {
      throw new EtcdStatusException(EtcdStatus.ROLE_NOT_FOUND);
    }
    AuthState next = s.withRole(name, null);
    b.deleteAuth(AuthStore.bytes(AuthStore.ROLE_PREFIX + name));
    // The role leaves every user holding it, in the same revision.
    Map<String, User> users = new HashMap<>(next.users);
    for (User u : next.users.values()) {
      if (u.getRolesList().contains(name)) {
        List<String> roles = new ArrayList<>(u.getRolesList());
        roles.remove(name);
        User updated = u.toBuilder().clearRoles().addAllRoles(roles).build();
        users.put(updated.getName().toStringUtf8(), updated);
        b.putAuth(userKey(updated), updated.toByteArray());
      }
    }
    next = next.withUsers(users);
    saveRevision(b, next);
    auth.publish(next);
    log.info("deleted role {}", name);
    return AuthRoleDeleteResponse.getDefaultInstance();
  }

  private Object roleGrantPermission(ApplyBatch b, AuthState s, AuthRoleGrantPermissionRequest r) {
    if (!r.hasPerm()) {
      throw new EtcdStatusException(EtcdStatus.PERMISSION_NOT_GIVEN);
    }
    Permission p = r.getPerm();
    if (!validPermissionRange(p.getKey().toByteArray(), p.getRangeEnd().toByteArray())) {
      throw new EtcdStatusException(EtcdStatus.INVALID_AUTH_MGMT);
    }
    Role role = s.roles.get(r.getName());
    if (role == null) {
      throw new EtcdStatusException(EtcdStatus.ROLE_NOT_FOUND);
    }
    List<Permission> perms = new ArrayList<>(role.getKeyPermissionList());
    boolean updated = false;
    for (int i = 0; i < perms.size(); i++) {
      Permission q = perms.get(i);
      if (q.getKey().equals(p.getKey()) && q.getRangeEnd().equals(p.getRangeEnd())) {
        perms.set(i, q.toBuilder().setPermType(p.getPermType()).build());
        updated = true;
      }
    }
    if (!updated) {
      perms.add(
          Permission.newBuilder()
              .setKey(p.getKey())
              .setRangeEnd(p.getRangeEnd())
              .setPermType(p.getPermType())
              .build());
      // etcd keeps a role's permissions sorted by key (a stable sort).
      perms.sort(
          (x, y) -> Arrays.compareUnsigned(x.getKey().toByteArray(), y.getKey().toByteArray()));
    }
    saveRole(
        b,
        s.withRole(
            r.getName(), role.toBuilder().clearKeyPermission().addAllKeyPermission(perms).build()),
        r.getName());
    log.info("granted {} on a key range to role {}", p.getPermType(), r.getName());
    return AuthRoleGrantPermissionResponse.getDefaultInstance();
  }

  private Object roleRevokePermission(
      ApplyBatch b, AuthState s, AuthRoleRevokePermissionRequest r) {
    Role role = s.roles.get(r.getRole());
    if (role == null) {
      throw new EtcdStatusException(EtcdStatus.ROLE_NOT_FOUND);
    }
    List<Permission> kept = new ArrayList<>();
    for (Permission q : role.getKeyPermissionList()) {
      if (!q.getKey().equals(r.getKey()) || !q.getRangeEnd().equals(r.getRangeEnd())) {
        kept.add(q);
      }
    }
    if (kept.size() == role.getKeyPermissionCount()) {
      throw new EtcdStatusException(EtcdStatus.PERMISSION_NOT_GRANTED);
    }
    saveRole(
        b,
        s.withRole(
            r.getRole(), role.toBuilder().clearKeyPermission().addAllKeyPermission(kept).build()),
        r.getRole());
    log.info("revoked a permission from role {}", r.getRole());
    return AuthRoleRevokePermissionResponse.getDefaultInstance();
  }

  /**
   * etcd's isValidPermissionRange: a non-empty key; then a single key, a range with its end after
   * its start, or everything from the key on ({@code "\0"}).
   */
  static boolean validPermissionRange(byte[] key, byte[] rangeEnd) {
    if (key.length == 0) {
      return false;
    }
    if (rangeEnd.length == 0) {
      return true;
    }
    if (Arrays.compareUnsigned(key, rangeEnd) < 0) {
      return true;
    }
    return rangeEnd.length == 1 && rangeEnd[0] == 0;
  }

  private static User existingUser(AuthState s, String name) {
    User u = s.user(name);
    if (u == null) {
      throw new EtcdStatusException(EtcdStatus.USER_NOT_FOUND);
    }
    return u;
  }

  /** The stored hash from the proposal's base64 text (etcd 3.5's hashedPassword). */
  private static ByteString hash(String base64) {
    try {
      return ByteString.copyFrom(Base64.getDecoder().decode(base64));
    } catch (IllegalArgumentException e) {
      throw new EtcdStatusException(EtcdStatus.NO_PASSWORD_USER);
    }
  }

  private static byte[] userKey(User u) {
    return AuthStore.bytes(AuthStore.USER_PREFIX + u.getName().toStringUtf8());
  }

  /** Persists user {@code name} as {@code next} holds it, with the revision; then publishes. */
  private void saveUser(ApplyBatch b, AuthState next, String name) {
    b.putAuth(AuthStore.bytes(AuthStore.USER_PREFIX + name), next.users.get(name).toByteArray());
    saveRevision(b, next);
    auth.publish(next);
  }

  private void saveRole(ApplyBatch b, AuthState next, String name) {
    b.putAuth(AuthStore.bytes(AuthStore.ROLE_PREFIX + name), next.roles.get(name).toByteArray());
    saveRevision(b, next);
    auth.publish(next);
  }

  private static void saveRevision(ApplyBatch b, AuthState s) {
    b.putAuth(AuthStore.KEY_REVISION, ByteBuffer.allocate(8).putLong(s.revision).array());
  }
}
