package io.etch.jepsen.cluster;

import io.etcd.jetcd.common.exception.EtcdException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.util.Set;

/**
 * Classifies a failed etcd request: did it definitely not take effect, or is its outcome unknown?
 *
 * <p>etcd semantics guarantee a write did not happen only when it was rejected before being
 * proposed: a malformed or unauthorized request (INVALID_ARGUMENT, PERMISSION_DENIED,
 * UNAUTHENTICATED, OUT_OF_RANGE, FAILED_PRECONDITION), or one that never reached a server (the
 * connection was refused, so not a byte was sent). Everything else — {@code etcdserver: leader
 * changed}, {@code no leader}, {@code request timed out}, UNAVAILABLE after the request was sent,
 * DEADLINE_EXCEEDED, a client-side timeout — may follow a proposal that commits later, so its
 * outcome is unknown.
 */
final class EtcdErrors {
  private static final Set<Status.Code> REJECTED_BEFORE_PROPOSAL =
      Set.of(
          Status.Code.INVALID_ARGUMENT,
          Status.Code.PERMISSION_DENIED,
          Status.Code.UNAUTHENTICATED,
          Status.Code.OUT_OF_RANGE,
          Status.Code.FAILED_PRECONDITION);

  private EtcdErrors() {}

  static boolean definitelyNotExecuted(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectException) {
        return true;
      }
      Status.Code code = code(c);
      if (code != null && REJECTED_BEFORE_PROPOSAL.contains(code)) {
        return true;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }

  static Status.Code code(Throwable c) {
    if (c instanceof StatusRuntimeException s) {
      return s.getStatus().getCode();
    }
    if (c instanceof EtcdException e) {
      return Status.Code.valueOf(e.getErrorCode().name());
    }
    return null;
  }

  /** A short label for tallies: the status code and etcd message, or the exception type. */
  static String label(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectException) {
        return "connection refused";
      }
    }
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root && code(root) == null) {
      root = root.getCause();
    }
    String msg = String.valueOf(root.getMessage());
    int nl = msg.indexOf('\n');
    if (nl >= 0) {
      msg = msg.substring(0, nl);
    }
    if (msg.length() > 80) {
      msg = msg.substring(0, 80);
    }
    return root.getClass().getSimpleName() + ": " + msg;
  }
}
