package io.etch.storage.wal;

import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import io.etch.raft.HardState;
import io.etch.raft.SnapshotMetadata;
import io.etch.storage.snapshot.SnapshotMetadataCodec;
import java.nio.ByteBuffer;

/**
 * A growable buffer of framed records, reused for every batch. Confined to one thread (the WAL's
 * committer).
 */
final class RecordBuffer {
  private ByteBuffer buf = ByteBuffer.allocate(64 << 10);

  void clear() {
    buf.clear();
  }

  int position() {
    return buf.position();
  }

  /** The framed bytes written since the last {@link #clear}, ready to be written out. */
  ByteBuffer flip() {
    ByteBuffer out = buf.duplicate();
    out.flip();
    return out;
  }

  /** Appends an entry record; returns the frame's offset within this buffer. */
  int entry(Entry e) {
    int start = begin(17 + e.data().length);
    buf.putLong(e.term()).putLong(e.index());
    buf.put((byte) (e.type() == EntryType.CONF_CHANGE ? 1 : 0));
    buf.put(e.data());
    Frame.seal(buf, start, RecordType.ENTRY);
    return start;
  }

  int hardState(HardState hs) {
    int start = begin(24);
    buf.putLong(hs.term()).putLong(hs.vote()).putLong(hs.commit());
    Frame.seal(buf, start, RecordType.HARD_STATE);
    return start;
  }

  /**
   * A snapshot marker. {@code installed} says the snapshot replaced the log (a follower installing
   * a leader's snapshot) rather than summarising a prefix of it.
   */
  int snapshot(SnapshotMetadata meta, boolean installed) {
    int start = begin(1 + SnapshotMetadataCodec.encodedSize(meta));
    buf.put((byte) (installed ? 1 : 0));
    SnapshotMetadataCodec.encode(meta, buf);
    Frame.seal(buf, start, RecordType.SNAPSHOT);
    return start;
  }

  int segment(long preallocatedBytes) {
    int start = begin(8);
    buf.putLong(preallocatedBytes);
    Frame.seal(buf, start, RecordType.SEGMENT);
    return start;
  }

  int metadata(byte[] metadata) {
    int start = begin(metadata.length);
    buf.put(metadata);
    Frame.seal(buf, start, RecordType.METADATA);
    return start;
  }

  private int begin(int payload) {
    int need = Frame.HEADER_BYTES + payload;
    if (buf.remaining() < need) {
      int cap = buf.capacity();
      while (cap - buf.position() < need) {
        cap *= 2;
      }
      ByteBuffer bigger = ByteBuffer.allocate(cap);
      buf.flip();
      bigger.put(buf);
      buf = bigger;
    }
    int start = buf.position();
    buf.position(start + Frame.HEADER_BYTES);
    return start;
  }

  // Decoding: payload views of a valid frame (its CRC already checked).

  static Entry decodeEntry(byte[] b, int payloadPos, int length) {
    ByteBuffer in = ByteBuffer.wrap(b, payloadPos, length);
    long term = in.getLong();
    long index = in.getLong();
    EntryType type = in.get() == 1 ? EntryType.CONF_CHANGE : EntryType.NORMAL;
    byte[] data = new byte[in.remaining()];
    in.get(data);
    return new Entry(term, index, type, data);
  }

  static HardState decodeHardState(byte[] b, int payloadPos) {
    ByteBuffer in = ByteBuffer.wrap(b, payloadPos, 24);
    return new HardState(in.getLong(), in.getLong(), in.getLong());
  }

  static boolean decodeSnapshotInstalled(byte[] b, int payloadPos) {
    return b[payloadPos] == 1;
  }

  static SnapshotMetadata decodeSnapshot(byte[] b, int payloadPos, int length) {
    return SnapshotMetadataCodec.decode(ByteBuffer.wrap(b, payloadPos + 1, length - 1));
  }
}
