package io.etch.storage.mvcc;

/**
 * The protobuf wire form of mvccpb.KeyValue (key=1, create_revision=2, mod_revision=3, version=4,
 * value=5, lease=6; proto3 leaves zero fields out), which is what etcd stores as the value of a
 * revision. Writing the same bytes as etcd keeps hashKV comparable with etcd's and lets the server
 * ship stored values without re-encoding. Hand-written because this module has no protobuf
 * dependency and the message is six fields.
 */
final class KeyValueCodec {
  private KeyValueCodec() {}

  static byte[] encode(KeyValue kv) {
    byte[] out = new byte[encodedSize(kv)];
    encodeInto(kv, out, 0);
    return out;
  }

  /** The length of {@link #encode}'s result. */
  static int encodedSize(KeyValue kv) {
    int size = bytesField(1, kv.key()) + varintField(2, kv.createRevision());
    size += varintField(3, kv.modRevision()) + varintField(4, kv.version());
    return size + bytesField(5, kv.value()) + varintField(6, kv.lease());
  }

  /** Writes {@link #encode}'s bytes into {@code out} at {@code p}; returns the end position. */
  static int encodeInto(KeyValue kv, byte[] out, int p) {
    p = writeBytes(out, p, 1, kv.key());
    p = writeVarintField(out, p, 2, kv.createRevision());
    p = writeVarintField(out, p, 3, kv.modRevision());
    p = writeVarintField(out, p, 4, kv.version());
    p = writeBytes(out, p, 5, kv.value());
    return writeVarintField(out, p, 6, kv.lease());
  }

  /** A tombstone's value: a KeyValue holding only the key, as etcd writes it. */
  static byte[] encodeTombstone(byte[] key) {
    return encode(new KeyValue(key, 0, 0, 0, null, 0));
  }

  static KeyValue decode(byte[] b) {
    byte[] key = KeyValue.EMPTY;
    byte[] value = KeyValue.EMPTY;
    long create = 0, mod = 0, version = 0, lease = 0;
    int[] pos = {0};
    while (pos[0] < b.length) {
      long tag = readVarint(b, pos);
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (wire == 2) {
        int len = (int) readVarint(b, pos);
        byte[] v = java.util.Arrays.copyOfRange(b, pos[0], pos[0] + len);
        pos[0] += len;
        if (field == 1) {
          key = v;
        } else if (field == 5) {
          value = v;
        }
      } else if (wire == 0) {
        long v = readVarint(b, pos);
        switch (field) {
          case 2 -> create = v;
          case 3 -> mod = v;
          case 4 -> version = v;
          case 6 -> lease = v;
          default -> {}
        }
      } else {
        throw new StorageException("malformed stored KeyValue: wire type " + wire);
      }
    }
    return new KeyValue(key, create, mod, version, value, lease);
  }

  /** What the index rebuild needs from a stored KeyValue. */
  record Header(byte[] key, long createRevision, long version) {}

  /** Decodes key, create_revision and version, skipping (not copying) the value. */
  static Header decodeHeader(byte[] b) {
    byte[] key = KeyValue.EMPTY;
    long create = 0, version = 0;
    int[] pos = {0};
    while (pos[0] < b.length) {
      long tag = readVarint(b, pos);
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (wire == 2) {
        int len = (int) readVarint(b, pos);
        if (field == 1) {
          key = java.util.Arrays.copyOfRange(b, pos[0], pos[0] + len);
        }
        pos[0] += len;
      } else if (wire == 0) {
        long v = readVarint(b, pos);
        if (field == 2) {
          create = v;
        } else if (field == 4) {
          version = v;
        }
      } else {
        throw new StorageException("malformed stored KeyValue: wire type " + wire);
      }
    }
    return new Header(key, create, version);
  }

  /** {@link #decodeHeader(byte[])} of the bytes between position and limit of a buffer. */
  static Header decodeHeader(java.nio.ByteBuffer b) {
    byte[] key = KeyValue.EMPTY;
    long create = 0, version = 0;
    while (b.hasRemaining()) {
      long tag = readVarint(b);
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (wire == 2) {
        int len = (int) readVarint(b);
        if (field == 1) {
          key = new byte[len];
          b.get(key);
        } else {
          b.position(b.position() + len);
        }
      } else if (wire == 0) {
        long v = readVarint(b);
        if (field == 2) {
          create = v;
        } else if (field == 4) {
          version = v;
        }
      } else {
        throw new StorageException("malformed stored KeyValue: wire type " + wire);
      }
    }
    return new Header(key, create, version);
  }

  /**
   * Reads key, create_revision and version from the head of a stored KeyValue, which may be cut
   * short after them (the index rebuild copies only a value's first bytes). Reusable; one thread.
   */
  static final class HeaderReader {
    byte[] key;
    long createRevision;
    long version;

    /**
     * Reads the bytes between position and limit; false if they end inside the fields before the
     * value (the copy was too short), true once the value field (5) or lease (6) or the end of a
     * complete message is reached.
     */
    boolean read(java.nio.ByteBuffer b) {
      key = KeyValue.EMPTY;
      createRevision = 0;
      version = 0;
      try {
        while (b.hasRemaining()) {
          long tag = readVarint(b);
          int field = (int) (tag >>> 3);
          int wire = (int) (tag & 7);
          if (field >= 5) {
            return true;
          }
          if (wire == 2) {
            int len = (int) readVarint(b);
            if (field == 1) {
              byte[] k = new byte[len];
              b.get(k);
              key = k;
            } else {
              b.position(b.position() + len);
            }
          } else if (wire == 0) {
            long v = readVarint(b);
            if (field == 2) {
              createRevision = v;
            } else if (field == 4) {
              version = v;
            }
          } else {
            throw new StorageException("malformed stored KeyValue: wire type " + wire);
          }
        }
        return true;
      } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
        return false;
      }
    }
  }

  private static long readVarint(java.nio.ByteBuffer b) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte x = b.get();
      v |= (long) (x & 0x7f) << shift;
      if (x >= 0) {
        return v;
      }
    }
    throw new StorageException("malformed varint in stored KeyValue");
  }

  /** Only the key of a stored KeyValue (field 1, written first), without copying the value. */
  static byte[] decodeKey(byte[] b) {
    int[] pos = {0};
    if (b.length == 0) {
      return KeyValue.EMPTY;
    }
    long tag = readVarint(b, pos);
    if (tag != ((1 << 3) | 2)) {
      return KeyValue.EMPTY;
    }
    int len = (int) readVarint(b, pos);
    return java.util.Arrays.copyOfRange(b, pos[0], pos[0] + len);
  }

  static long readVarint(byte[] b, int[] pos) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte x = b[pos[0]++];
      v |= (long) (x & 0x7f) << shift;
      if (x >= 0) {
        return v;
      }
    }
    throw new StorageException("malformed varint in stored KeyValue");
  }

  private static int varintSize(long v) {
    int n = 1;
    while ((v & ~0x7fL) != 0) {
      v >>>= 7;
      n++;
    }
    return n;
  }

  private static int varintField(int field, long v) {
    return v == 0 ? 0 : varintSize(field << 3) + varintSize(v);
  }

  private static int bytesField(int field, byte[] v) {
    return v.length == 0 ? 0 : varintSize(field << 3) + varintSize(v.length) + v.length;
  }

  private static int writeVarint(byte[] out, int p, long v) {
    while ((v & ~0x7fL) != 0) {
      out[p++] = (byte) ((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out[p++] = (byte) v;
    return p;
  }

  private static int writeVarintField(byte[] out, int p, int field, long v) {
    if (v == 0) {
      return p;
    }
    p = writeVarint(out, p, field << 3);
    return writeVarint(out, p, v);
  }

  private static int writeBytes(byte[] out, int p, int field, byte[] v) {
    if (v.length == 0) {
      return p;
    }
    p = writeVarint(out, p, (field << 3) | 2);
    p = writeVarint(out, p, v.length);
    System.arraycopy(v, 0, out, p, v.length);
    return p + v.length;
  }
}
