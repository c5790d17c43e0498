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
final class SimpleTokens {
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

  /** Registers the token of an applied Authenticate entry; returns it. */
  String assign(String prefix, long index, String user) {
    long now = nanoClock.getAsLong();
    tokens.values().removeIf(e -> e.expiresAt - now <= 0);
    String token = prefix + "." + index;
    tokens.put(token, new Entry(user, now + ttlNanos));
    return token;
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

  void invalidateUser(String user) {
    tokens.values().removeIf(e -> e.user.equals(user));
  }

  void clear() {
    tokens.clear();
  }
}
