package io.etch.storage.mvcc;

/**
 * etcdserverpb.Compare: compares {@code target} of every key in [key, rangeEnd) with the given
 * operand. Only the operand field matching {@code target} is read (etcd's target_union).
 */
public record Compare(
    CompareResult result,
    CompareTarget target,
    byte[] key,
    byte[] rangeEnd,
    long version,
    long createRevision,
    long modRevision,
    byte[] value,
    long lease) {

  public enum CompareResult {
    EQUAL,
    GREATER,
    LESS,
    NOT_EQUAL
  }

  public enum CompareTarget {
    VERSION,
    CREATE,
    MOD,
    VALUE,
    LEASE
  }

  public Compare {
    key = key == null ? KeyValue.EMPTY : key;
    rangeEnd = rangeEnd == null ? KeyValue.EMPTY : rangeEnd;
    value = value == null ? KeyValue.EMPTY : value;
  }

  public static Compare version(byte[] key, CompareResult result, long version) {
    return new Compare(result, CompareTarget.VERSION, key, null, version, 0, 0, null, 0);
  }

  public static Compare createRevision(byte[] key, CompareResult result, long revision) {
    return new Compare(result, CompareTarget.CREATE, key, null, 0, revision, 0, null, 0);
  }

  public static Compare modRevision(byte[] key, CompareResult result, long revision) {
    return new Compare(result, CompareTarget.MOD, key, null, 0, 0, revision, null, 0);
  }

  public static Compare value(byte[] key, CompareResult result, byte[] value) {
    return new Compare(result, CompareTarget.VALUE, key, null, 0, 0, 0, value, 0);
  }

  public static Compare lease(byte[] key, CompareResult result, long lease) {
    return new Compare(result, CompareTarget.LEASE, key, null, 0, 0, 0, null, lease);
  }

  /** The same compare applied to every key in [key, rangeEnd). */
  public Compare withRangeEnd(byte[] rangeEnd) {
    return new Compare(
        result, target, key, rangeEnd, version, createRevision, modRevision, value, lease);
  }

  /** Whether {@code kv} passes this compare (a missing key is passed as version/revisions 0). */
  public boolean matches(KeyValue kv) {
    int r =
        switch (target) {
          case VALUE -> java.util.Arrays.compareUnsigned(kv.value(), value);
          case VERSION -> Long.compare(kv.version(), version);
          case CREATE -> Long.compare(kv.createRevision(), createRevision);
          case MOD -> Long.compare(kv.modRevision(), modRevision);
          case LEASE -> Long.compare(kv.lease(), lease);
        };
    return switch (result) {
      case EQUAL -> r == 0;
      case NOT_EQUAL -> r != 0;
      case GREATER -> r > 0;
      case LESS -> r < 0;
    };
  }
}
