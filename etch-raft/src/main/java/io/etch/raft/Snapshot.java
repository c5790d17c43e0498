package io.etch.raft;

/**
 * A state-machine snapshot: metadata plus opaque data produced by the caller. Raft never looks
 * inside {@code data}.
 */
public record Snapshot(SnapshotMetadata metadata, byte[] data) {
  public static final Snapshot EMPTY = new Snapshot(SnapshotMetadata.EMPTY, Entry.EMPTY);

  public Snapshot {
    if (data == null) {
      data = Entry.EMPTY;
    }
  }

  public boolean isEmpty() {
    return metadata.index() == 0;
  }

  public long index() {
    return metadata.index();
  }

  public long term() {
    return metadata.term();
  }
}
