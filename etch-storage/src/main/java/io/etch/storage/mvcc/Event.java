package io.etch.storage.mvcc;

/**
 * mvccpb.Event: a change at {@code kv.modRevision()}. For a DELETE, {@code kv} holds only the key
 * and the mod_revision of the delete (etcd's form). {@code prevKv} is the key's previous version,
 * null if it had none (or, for history reads, if that version was compacted).
 */
public record Event(EventType type, KeyValue kv, KeyValue prevKv) {
  public enum EventType {
    PUT,
    DELETE
  }

  public long revision() {
    return kv.modRevision();
  }
}
