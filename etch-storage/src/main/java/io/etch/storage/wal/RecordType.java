package io.etch.storage.wal;

/** What a WAL record holds. The code is the byte stored in the frame; 0 is never valid. */
public enum RecordType {
  /**
   * The segment's preallocated length; first record of every segment, so recovery can tell a
   * segment truncated by damage (shorter than it was made) from a torn write inside it.
   */
  SEGMENT(5),
  /** Opaque bytes given at creation (cluster and member id); first record of every segment. */
  METADATA(1),
  /** One raft entry; an entry at index i replaces every entry >= i read before it. */
  ENTRY(2),
  /** The raft hard state; the last one read wins. */
  HARD_STATE(3),
  /** A snapshot marker: metadata of a snapshot saved (or installed) at this point of the log. */
  SNAPSHOT(4);

  final byte code;

  RecordType(int code) {
    this.code = (byte) code;
  }

  /** The type stored as {@code code}, or null if no type has that code. */
  static RecordType of(byte code) {
    return switch (code) {
      case 1 -> METADATA;
      case 2 -> ENTRY;
      case 3 -> HARD_STATE;
      case 4 -> SNAPSHOT;
      case 5 -> SEGMENT;
      default -> null;
    };
  }
}
