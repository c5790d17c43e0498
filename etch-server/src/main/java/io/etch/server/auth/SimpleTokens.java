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

  /** How long a check waits for this member to apply the entry that issued a token. */
  static final long AWAIT_APPLY_MILLIS = 1000;

  /** This member's applied raft index (the server wires it; until then nothing is waited for). */
  private volatile LongSupplier appliedIndex = () -> Long.MAX_VALUE;

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
    synchronized (this) {
      notifyAll(); // wakes checks waiting for this token (awaitApplied)
    }
    return token;
  }

  void appliedIndex(LongSupplier applied) {
    this.appliedIndex = applied;
  }

  /** A simple token stands for its user at whatever the auth revision is now (etcd). */
  @Override
  public AuthInfo info(String token, long currentRevision) {
    String user = user(token);
    if (user == null && awaitApplied(token)) {
      user = user(token);
    }
    return user == null ? null : new AuthInfo(user, currentRevision);
  }

  /**
   * etcd's index waiter: a token names the raft index of the Authenticate entry that issued it; a
   * member that has not applied that index yet (a follower a heartbeat behind, when a client
   * switches members right after authenticating) waits for it, briefly, instead of refusing the
   * token. Returns whether the token may have appeared meanwhile. Blocks the calling thread for at
   * most {@link #AWAIT_APPLY_MILLIS}, and only for a well-formed token from the future.
   */
  private boolean awaitApplied(String token) {
    long index = indexOf(token);
    if (index < 0 || appliedIndex.getAsLong() >= index) {
      return false;
    }
    long deadline = System.nanoTime() + AWAIT_APPLY_MILLIS * 1_000_000;
    synchronized (this) {
      while (!tokens.containsKey(token) && appliedIndex.getAsLong() < index) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          // Woken by assign; the applied index moves without notice, so look again soon.
          wait(Math.max(1, Math.min(10, left / 1_000_000)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return true;
  }

  /** The raft index a well-formed simple token carries, or -1. */
  static long indexOf(String token) {
    int dot = token.indexOf('.');
    if (dot != PREFIX_LENGTH || dot + 1 >= token.length() || token.length() - dot > 20) {
      return -1;
    }
    for (int i = dot + 1; i < token.length(); i++) {
      if (token.charAt(i) < '0' || token.charAt(i) > '9') {
        return -1;
      }
    }
    return Long.parseLong(token.substring(dot + 1));
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
