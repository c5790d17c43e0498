package io.etch.storage.mvcc;

/**
 * Catalog of the errors the MVCC store hands back, with etcd's exact messages and the gRPC status
 * code etcd answers them with (as a name, so this module needs no gRPC dependency).
 */
public enum EtcdError {
  COMPACTED("mvcc: required revision has been compacted", "OUT_OF_RANGE"),
  FUTURE_REV("mvcc: required revision is a future revision", "OUT_OF_RANGE"),
  KEY_NOT_FOUND("etcdserver: key not found", "INVALID_ARGUMENT"),
  EMPTY_KEY("etcdserver: key is not provided", "INVALID_ARGUMENT"),
  DUPLICATE_KEY("etcdserver: duplicate key given in txn request", "INVALID_ARGUMENT"),
  TOO_MANY_OPS("etcdserver: too many operations in txn request", "INVALID_ARGUMENT"),
  LEASE_NOT_FOUND("etcdserver: requested lease not found", "NOT_FOUND");

  private final String message;
  private final String grpcCode;

  EtcdError(String message, String grpcCode) {
    this.message = message;
    this.grpcCode = grpcCode;
  }

  public String message() {
    return message;
  }

  /** The name of the {@code io.grpc.Status.Code} etcd returns this error with. */
  public String grpcCode() {
    return grpcCode;
  }
}
