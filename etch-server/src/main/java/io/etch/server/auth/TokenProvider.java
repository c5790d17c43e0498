package io.etch.server.auth;

/**
 * How tokens are issued and read (etcd's {@code TokenProvider}): {@code simple} ({@link
 * SimpleTokens}) or {@code jwt} ({@link JwtTokens}), chosen by {@code --auth-token}.
 */
interface TokenProvider {
  /**
   * Issues the token of an applied Authenticate entry; runs on every member's apply thread.
   *
   * @param prefix the random letters the proposing member chose (simple tokens)
   * @param index the entry's raft index (simple tokens)
   * @param revision the auth revision at apply (carried by JWTs)
   */
  String assign(String prefix, long index, String user, long revision);

  /** The user and auth revision a token stands for, or null when it is unknown or expired. */
  AuthInfo info(String token, long currentRevision);

  /** The user was deleted or changed password. */
  void invalidateUser(String user);

  /** Auth was disabled, or the state reloaded. */
  void clear();
}
