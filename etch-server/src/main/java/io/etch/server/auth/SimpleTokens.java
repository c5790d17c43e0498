package io.etch.server.auth;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * etcd's simple tokens: {@code <16 random letters>.<raft index>}, registered on every member when
 * the Authenticate entry is applied (the proposer picks the letters, so all members agree), kept in
 * memory only, valid for the TTL since last use ({@code --auth-token-ttl}), dropped when their user
 * is deleted or changes password and when auth is disabled. Thread-safe.
 */
final class SimpleTokens implements TokenProvider {
  private static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static final int PREFIX_LENGTH = 16;

  private final long ttlNanos;
  private final LongSupplier nanoClock;
  private final Map<String, Entry> tokens = new ConcurrentHashMap<>();

  private static final class Entry {
    final String user;
    volatile long expiresAt;

    Entry(String user, long expiresAt) {
      this.user = user;
      this.expiresAt = expiresAt;
    }
  }

  SimpleTokens(long ttlNanos, LongSupplier nanoClock) {
    this.ttlNanos = ttlNanos;
    this.nanoClock = nanoClock;
  }

  static String prefix(java.util.random.RandomGenerator random) {
    StringBuilder b = new StringBuilder(PREFIX_LENGTH);
    for (int i = 0; i < PREFIX_LENGTH; i++) {
      b.append(LETTERS.charAt(random.nextInt(LETTERS.length())));
    }
    return b.toString();
  }

  @Override
  public String assign(String prefix, long index, String user, long revision) {
    long now = nanoClock.getAsLong();
    tokens.values().removeIf(e -> e.expiresAt - now <= 0);
    String token = prefix + "." + index;
    tokens.put(token, new Entry(user, now + ttlNanos));
    return token;
  }

  /** A simple token stands for its user at whatever the auth revision is now (etcd). */
  @Override
  public AuthInfo info(String token, long currentRevision) {
    String user = user(token);
    return user == null ? null : new AuthInfo(user, currentRevision);
  }

  /** The user of a live token (and its TTL starts again), or null. */
  String user(String token) {
    Entry e = tokens.get(token);
    if (e == null) {
      return null;
    }
    long now = nanoClock.getAsLong();
    if (e.expiresAt - now <= 0) {
      tokens.remove(token, e);
      return null;
    }
    e.expiresAt = now + ttlNanos;
    return e.user;
  }

  @Override
  public void invalidateUser(String user) {
    tokens.values().removeIf(e -> e.user.equals(user));
  }

  @Override
  public void clear() {
    tokens.clear();
  }
}
