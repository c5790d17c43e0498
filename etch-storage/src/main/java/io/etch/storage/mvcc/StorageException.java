package io.etch.storage.mvcc;

/**
 * The store cannot do its job (cannot open its directory, RocksDB reported an I/O error, or an
 * earlier write failed and left the store unusable). Not an etcd request error: the server treats
 * it as fatal for the member.
 */
public final class StorageException extends RuntimeException {
  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }

  public StorageException(String message) {
    super(message);
  }
}
