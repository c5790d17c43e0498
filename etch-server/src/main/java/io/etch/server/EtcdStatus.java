package io.etch.server;

import io.etch.raft.RaftError;
import io.etch.raft.RaftException;
import io.etch.storage.mvcc.EtcdError;
import io.etch.storage.mvcc.EtcdException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * The catalog of errors etch returns to clients: each etcd error with its gRPC code and exact
 * message (etcd's {@code api/v3rpc/rpctypes}). Clients match on these strings, so they never vary.
 * Every exception leaving a service passes through {@link #of(Throwable)}.
 */
public enum EtcdStatus {
  EMPTY_KEY(Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided"),
  KEY_NOT_FOUND(Status.Code.INVALID_ARGUMENT, "etcdserver: key not found"),
  VALUE_PROVIDED(Status.Code.INVALID_ARGUMENT, "etcdserver: value is provided"),
  LEASE_PROVIDED(Status.Code.INVALID_ARGUMENT, "etcdserver: lease is provided"),
  TOO_MANY_OPS(Status.Code.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
  DUPLICATE_KEY(Status.Code.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
  REQUEST_TOO_LARGE(Status.Code.INVALID_ARGUMENT, "etcdserver: request is too large"),
  COMPACTED(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
  FUTURE_REV(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
  NO_SPACE(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"),
  CORRUPT(Status.Code.DATA_LOSS, "etcdserver: corrupt cluster"),
  LEASE_NOT_FOUND(Status.Code.NOT_FOUND, "etcdserver: requested lease not found"),
  LEASE_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: lease already exists"),
  LEASE_TTL_TOO_LARGE(Status.Code.OUT_OF_RANGE, "etcdserver: too large lease TTL"),
  ROOT_USER_NOT_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: root user does not exist"),
  ROOT_ROLE_NOT_EXIST(
      Status.Code.FAILED_PRECONDITION, "etcdserver: root user does not have root role"),
  USER_ALREADY_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: user name already exists"),
  USER_EMPTY(Status.Code.INVALID_ARGUMENT, "etcdserver: user name is empty"),
  USER_NOT_FOUND(Status.Code.FAILED_PRECONDITION, "etcdserver: user name not found"),
  ROLE_ALREADY_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: role name already exists"),
  ROLE_NOT_FOUND(Status.Code.FAILED_PRECONDITION, "etcdserver: role name not found"),
  ROLE_EMPTY(Status.Code.INVALID_ARGUMENT, "etcdserver: role name is empty"),
  AUTH_FAILED(
      Status.Code.INVALID_ARGUMENT,
      "etcdserver: authentication failed, invalid user ID or password"),
  PERMISSION_NOT_GIVEN(Status.Code.INVALID_ARGUMENT, "etcdserver: permission not given"),
  PERMISSION_DENIED(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied"),
  ROLE_NOT_GRANTED(Status.Code.FAILED_PRECONDITION, "etcdserver: role is not granted to the user"),
  PERMISSION_NOT_GRANTED(
      Status.Code.FAILED_PRECONDITION, "etcdserver: permission is not granted to the role"),
  AUTH_NOT_ENABLED(Status.Code.FAILED_PRECONDITION, "etcdserver: authentication is not enabled"),
  INVALID_AUTH_TOKEN(Status.Code.UNAUTHENTICATED, "etcdserver: invalid auth token"),
  INVALID_AUTH_MGMT(Status.Code.INVALID_ARGUMENT, "etcdserver: invalid auth management"),
  AUTH_OLD_REVISION(Status.Code.INVALID_ARGUMENT, "etcdserver: revision of auth store is old"),
  // etcd has no gRPC mapping for these auth errors: clients get code Unknown and the auth
  // package's own text (etcd 3.4.23, observed).
  NO_PASSWORD_USER(
      Status.Code.UNKNOWN, "auth: authentication failed, password was given for no password user"),
  PASSWORD_TOO_LONG(Status.Code.UNKNOWN, "bcrypt: password length exceeds 72 bytes"),
  NO_LEADER(Status.Code.UNAVAILABLE, "etcdserver: no leader"),
  LEADER_CHANGED(Status.Code.UNAVAILABLE, "etcdserver: leader changed"),
  STOPPED(Status.Code.UNAVAILABLE, "etcdserver: server stopped"),
  TIMEOUT(Status.Code.UNAVAILABLE, "etcdserver: request timed out"),
  NOT_CAPABLE(Status.Code.FAILED_PRECONDITION, "etcdserver: not capable"),
  MEMBER_NOT_FOUND(Status.Code.NOT_FOUND, "etcdserver: member not found"),
  PEER_URL_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
  CAN_ONLY_PROMOTE_LEARNER(
      Status.Code.FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
  NOT_ENOUGH_STARTED_MEMBERS(
      Status.Code.FAILED_PRECONDITION,
      "etcdserver: re-configuration failed due to not enough started members"),
  ID_EXISTS(Status.Code.FAILED_PRECONDITION, "etcdserver: member ID already exist"),
  BAD_MEMBER_URLS(Status.Code.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
  LEARNER_NOT_READY(
      Status.Code.FAILED_PRECONDITION,
      "etcdserver: can only promote a learner member which is in sync with leader"),
  TOO_MANY_LEARNERS(
      Status.Code.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),
  NOT_LEADER(Status.Code.FAILED_PRECONDITION, "etcdserver: not leader"),
  BAD_LEADER_TRANSFEREE(Status.Code.FAILED_PRECONDITION, "etcdserver: bad leader transferee"),
  NOT_SUPPORTED_FOR_LEARNER(
      Status.Code.FAILED_PRECONDITION, "etcdserver: rpc not supported for learner"),
  UNHEALTHY(Status.Code.UNAVAILABLE, "etcdserver: unhealthy cluster"),
  UNKNOWN(Status.Code.UNKNOWN, "etcdserver: unknown error");

  private final Status.Code code;
  private final String message;

  EtcdStatus(Status.Code code, String message) {
    this.code = code;
    this.message = message;
  }

  public String message() {
    return message;
  }

  public Status.Code code() {
    return code;
  }

  public StatusRuntimeException exception() {
    return Status.fromCode(code).withDescription(message).asRuntimeException();
  }

  /** The store's errors, mapped to etcd's gRPC errors. */
  public static EtcdStatus of(EtcdError e) {
    return switch (e) {
      case COMPACTED -> COMPACTED;
      case FUTURE_REV -> FUTURE_REV;
      case KEY_NOT_FOUND -> KEY_NOT_FOUND;
      case EMPTY_KEY -> EMPTY_KEY;
      case DUPLICATE_KEY -> DUPLICATE_KEY;
      case TOO_MANY_OPS -> TOO_MANY_OPS;
      case LEASE_NOT_FOUND -> LEASE_NOT_FOUND;
    };
  }

  /** Maps any failure to the gRPC error a client of etcd would get. */
  public static StatusRuntimeException of(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof StatusRuntimeException sre) {
      return sre;
    }
    if (t instanceof EtcdStatusException ese) {
      return ese.status().exception();
    }
    if (t instanceof EtcdException ee) {
      return of(ee.error()).exception();
    }
    if (t instanceof RaftException re) {
      return (re.error() == RaftError.PROPOSAL_DROPPED ? NO_LEADER : UNKNOWN).exception();
    }
    if (t instanceof TimeoutException) {
      return TIMEOUT.exception();
    }
    return Status.UNKNOWN.withDescription(String.valueOf(t.getMessage())).asRuntimeException();
  }
}
