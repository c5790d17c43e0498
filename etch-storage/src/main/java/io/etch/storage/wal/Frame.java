package io.etch.storage.wal;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The on-disk frame of one WAL record:
 *
 * <pre>
 *   int32  payload length (big-endian)
 *   int8   record type ({@link RecordType}, never 0)
 *   int32  CRC32C of the length, type and payload bytes
 *   bytes  payload
 * </pre>
 *
 * The CRC covers the header too, so a damaged length or type is caught; type 0 is invalid, so the
 * zero-filled space of a preallocated segment never reads as a record. Stateless.
 */
final class Frame {
  static final int HEADER_BYTES = 9;

  /** Upper bound on a payload; a larger length can only be damage. */
  static final int MAX_PAYLOAD = 256 << 20;

  private Frame() {}

  /** Frames a payload already in {@code out} at {@code [start+HEADER_BYTES, out.position())}. */
  static void seal(ByteBuffer out, int start, RecordType type) {
    int length = out.position() - start - HEADER_BYTES;
    out.putInt(start, length);
    out.put(start + 4, type.code);
    CRC32C crc = new CRC32C();
    ByteBuffer covered = out.duplicate();
    covered.limit(start + 5).position(start);
    crc.update(covered);
    covered.limit(out.position()).position(start + HEADER_BYTES);
    crc.update(covered);
    out.putInt(start + 5, (int) crc.getValue());
  }

  /**
   * The total length of the valid frame starting at {@code pos} in {@code buf[0, limit)}, or -1 if
   * the bytes there are not a whole valid frame (short, bad length, bad type or bad CRC).
   */
  static int validLength(byte[] buf, int pos, int limit) {
    if (limit - pos < HEADER_BYTES) {
      return -1;
    }
    int length = getInt(buf, pos);
    if (RecordType.of(buf[pos + 4]) == null || length < 0 || length > MAX_PAYLOAD) {
      return -1;
    }
    if (length > limit - pos - HEADER_BYTES) {
      return -1;
    }
    CRC32C crc = new CRC32C();
    crc.update(buf, pos, 5);
    crc.update(buf, pos + HEADER_BYTES, length);
    if ((int) crc.getValue() != getInt(buf, pos + 5)) {
      return -1;
    }
    return HEADER_BYTES + length;
  }

  static int getInt(byte[] b, int pos) {
    return ((b[pos] & 0xff) << 24)
        | ((b[pos + 1] & 0xff) << 16)
        | ((b[pos + 2] & 0xff) << 8)
        | (b[pos + 3] & 0xff);
  }
}
