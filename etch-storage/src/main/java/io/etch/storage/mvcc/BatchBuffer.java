package io.etch.storage.mvcc;

import java.util.Arrays;
import org.rocksdb.WriteBatch;

/**
 * A RocksDB write batch built in a Java array, in RocksDB's own serialized form (the form of its
 * WAL records: a 12-byte header of sequence number and count, then one record per operation), and
 * handed to RocksDB in one JNI call at commit. Staging each put through {@code WriteBatch.put}
 * costs a JNI call and two array copies per operation; here a put is a few array writes, and a
 * stored KeyValue is encoded straight into the batch, never into an array of its own.
 *
 * <p>Record layout (RocksDB's {@code write_batch.cc}): a tag byte, for a column family other than
 * the default its id as a varint32, then the key and for a put the value, each as a varint32 length
 * and the bytes. {@code BatchBufferTest} checks the bytes against RocksDB's own {@code WriteBatch};
 * RocksDB checks the count against the records when it writes the batch.
 *
 * <p>Confined to the apply thread; reused from batch to batch.
 */
final class BatchBuffer {
  private static final int HEADER = 12;
  private static final byte TYPE_DELETION = 0x0;
  private static final byte TYPE_VALUE = 0x1;
  private static final byte TYPE_CF_DELETION = 0x4;
  private static final byte TYPE_CF_VALUE = 0x5;

  private byte[] buf = new byte[64 << 10];
  private int pos = HEADER;
  private int count;

  /** Empties the batch (keeps the array). */
  void reset() {
    if (buf.length > 64 << 20) {
      buf = new byte[64 << 10]; // do not pin one huge batch's array forever
    }
    pos = HEADER;
    count = 0;
  }

  int count() {
    return count;
  }

  boolean isEmpty() {
    return count == 0;
  }

  void put(int cfId, byte[] key, byte[] value) {
    ensure(11 + key.length + value.length);
    tag(cfId, TYPE_VALUE, TYPE_CF_VALUE);
    bytes(key);
    bytes(value);
    count++;
  }

  void delete(int cfId, byte[] key) {
    ensure(11 + key.length);
    tag(cfId, TYPE_DELETION, TYPE_CF_DELETION);
    bytes(key);
    count++;
  }

  /**
   * Puts revision (main, sub) → the protobuf encoding of {@code kv} ({@link KeyValueCodec}),
   * without building either array.
   */
  void putRevision(int cfId, long main, long sub, KeyValue kv) {
    int size = KeyValueCodec.encodedSize(kv);
    ensure(16 + Revision.BYTES + size);
    tag(cfId, TYPE_VALUE, TYPE_CF_VALUE);
    buf[pos++] = Revision.BYTES;
    Revision.putLong(buf, pos, main);
    buf[pos + 8] = '_';
    Revision.putLong(buf, pos + 9, sub);
    pos += Revision.BYTES;
    pos = varint(buf, pos, size);
    int end = KeyValueCodec.encodeInto(kv, buf, pos);
    if (end != pos + size) {
      throw new IllegalStateException("KeyValue encoded to " + (end - pos) + " bytes, not " + size);
    }
    pos = end;
    count++;
  }

  /** The batch as a RocksDB WriteBatch (the caller closes it); count and sequence in the header. */
  WriteBatch toWriteBatch() {
    Arrays.fill(buf, 0, 8, (byte) 0); // sequence: assigned by RocksDB at write
    buf[8] = (byte) count;
    buf[9] = (byte) (count >>> 8);
    buf[10] = (byte) (count >>> 16);
    buf[11] = (byte) (count >>> 24);
    return new WriteBatch(Arrays.copyOf(buf, pos));
  }

  /** The serialized bytes (tests compare them with RocksDB's own encoding). */
  byte[] data() {
    try (WriteBatch wb = toWriteBatch()) {
      return wb.data();
    } catch (org.rocksdb.RocksDBException e) {
      throw new IllegalStateException(e);
    }
  }

  private void tag(int cfId, byte defaultType, byte cfType) {
    if (cfId == 0) {
      buf[pos++] = defaultType;
    } else {
      buf[pos++] = cfType;
      pos = varint(buf, pos, cfId);
    }
  }

  private void bytes(byte[] b) {
    pos = varint(buf, pos, b.length);
    System.arraycopy(b, 0, buf, pos, b.length);
    pos += b.length;
  }

  private static int varint(byte[] out, int p, int v) {
    while ((v & ~0x7f) != 0) {
      out[p++] = (byte) ((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out[p++] = (byte) v;
    return p;
  }

  private void ensure(int more) {
    if (pos + more > buf.length) {
      long want = Math.max((long) buf.length * 2, (long) pos + more);
      if (want > Integer.MAX_VALUE - 16) {
        throw new StorageException("MVCC write batch over 2 GiB");
      }
      buf = Arrays.copyOf(buf, (int) want);
    }
  }
}
