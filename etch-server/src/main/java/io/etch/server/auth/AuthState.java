package io.etch.server.auth;

import io.etch.api.authpb.Role;
import io.etch.api.authpb.User;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The auth store as of one applied entry: whether auth is enabled, the auth revision, users and
 * roles by name. Immutable (the apply thread publishes a new one per change), so any thread checks
 * permissions against one consistent state without locks; merged permissions are computed once per
 * user and state.
 */
final class AuthState {
  static final String ROOT = "root";

  final boolean enabled;
  final long revision;
  final SortedMap<String, User> users;
  final SortedMap<String, Role> roles;
  private final ConcurrentHashMap<String, Permissions> merged = new ConcurrentHashMap<>();

  AuthState(boolean enabled, long revision, Map<String, User> users, Map<String, Role> roles) {
    this.enabled = enabled;
    this.revision = revision;
    this.users = Collections.unmodifiableSortedMap(new TreeMap<>(users));
    this.roles = Collections.unmodifiableSortedMap(new TreeMap<>(roles));
  }

  /** etcd's starting point: auth disabled, revision 1 (etcd commits revision 1 on first start). */
  static AuthState initial() {
    return new AuthState(false, 1, Map.of(), Map.of());
  }

  User user(String name) {
    return users.get(name);
  }

  static boolean hasRootRole(User u) {
    return u.getRolesList().contains(ROOT);
  }

  Permissions permissions(User u) {
    return merged.computeIfAbsent(u.getName().toStringUtf8(), n -> Permissions.of(u, roles));
  }

  AuthState withEnabled(boolean on, long rev) {
    return new AuthState(on, rev, users, roles);
  }

  AuthState withUser(String name, User u) {
    TreeMap<String, User> m = new TreeMap<>(users);
    if (u == null) {
      m.remove(name);
    } else {
      m.put(name, u);
    }
    return new AuthState(enabled, revision + 1, m, roles);
  }

  AuthState withRole(String name, Role r) {
    TreeMap<String, Role> m = new TreeMap<>(roles);
    if (r == null) {
      m.remove(name);
    } else {
      m.put(name, r);
    }
    return new AuthState(enabled, revision + 1, users, m);
  }

  /** Replaces users without a further revision bump (a role deletion updating its holders). */
  AuthState withUsers(Map<String, User> updated) {
    return new AuthState(enabled, revision, updated, roles);
  }
}
