package io.etch.server;

/** Carries one of etcd's errors through futures until a service maps it to gRPC. */
public final class EtcdStatusException extends RuntimeException {
  private final EtcdStatus status;

  public EtcdStatusException(EtcdStatus status) {
    super(status.message(), null, false, false);
    this.status = status;
  }

  public EtcdStatus status() {
    return status;
  }
}
