package io.etch.server.auth;

/**
 * Who sent a request, as its token said when the request was checked: the user and the auth
 * revision the check saw (etcd's {@code AuthInfo}). A request proposed to raft carries both, and
 * apply refuses it if the auth store has moved on since ({@code revision of auth store is old}).
 */
public record AuthInfo(String username, long revision) {}
