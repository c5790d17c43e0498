package io.etch.storage.mvcc;

/** An etcd error value raised by the store; {@link #error()} says which, the message is etcd's. */
public final class EtcdException extends RuntimeException {
  private final EtcdError error;

  public EtcdException(EtcdError error) {
    super(error.message(), null, false, false);
    this.error = error;
  }

  public EtcdError error() {
    return error;
  }
}
