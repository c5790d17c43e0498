package io.etch.storage.mvcc;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The request checks etcd makes before a txn reaches the store (etcd's v3rpc checkTxnRequest and
 * checkIntervals), in one place so the server and the store agree:
 *
 * <ul>
 *   <li>no branch (and no compare list) longer than {@code maxTxnOps};
 *   <li>every range, put and delete names a key;
 *   <li>within one branch, including the txns nested in it, a key is put at most once and never put
 *       inside a range the branch deletes; the success and failure branches of a nested txn may put
 *       the same key, since only one of them runs.
 * </ul>
 *
 * The last rule is what lets every change of a txn share one revision with one well-defined result.
 */
public final class TxnChecks {
  private TxnChecks() {}

  /** Throws the etcd error for the first rule {@code t} breaks. */
  public static void validate(TxnRequest t, int maxTxnOps) {
    checkOps(t, maxTxnOps);
    intervals(t.success());
    intervals(t.failure());
  }

  private static void checkOps(TxnRequest t, int max) {
    if (t.compare().size() > max || t.success().size() > max || t.failure().size() > max) {
      throw new EtcdException(EtcdError.TOO_MANY_OPS);
    }
    for (List<RequestOp> branch : List.of(t.success(), t.failure())) {
      for (RequestOp op : branch) {
        // Java 17 has no pattern switch: an instanceof chain over the sealed RequestOp.
        if (op instanceof RequestOp.RequestRange r) {
          requireKey(r.request().key());
        } else if (op instanceof RequestOp.RequestPut p) {
          requireKey(p.request().key());
        } else if (op instanceof RequestOp.RequestDeleteRange d) {
          requireKey(d.request().key());
        } else if (op instanceof RequestOp.RequestTxn n) {
          checkOps(n.request(), max);
        }
      }
    }
  }

  static void requireKey(byte[] key) {
    if (key.length == 0) {
      throw new EtcdException(EtcdError.EMPTY_KEY);
    }
  }

  private record Interval(byte[] key, byte[] end) {
    boolean contains(byte[] k) {
      if (end.length == 0) {
        return Arrays.equals(key, k);
      }
      if (Arrays.compareUnsigned(k, key) < 0) {
        return false;
      }
      return (end.length == 1 && end[0] == 0) || Arrays.compareUnsigned(k, end) < 0;
    }
  }

  private record Writes(Set<ByteBuffer> puts, List<Interval> dels) {}

  private static Writes intervals(List<RequestOp> ops) {
    List<Interval> dels = new ArrayList<>();
    for (RequestOp op : ops) {
      if (op instanceof RequestOp.RequestDeleteRange d) {
        dels.add(new Interval(d.request().key(), d.request().rangeEnd()));
      }
    }
    Set<ByteBuffer> puts = new HashSet<>();
    List<Interval> nestedDels = new ArrayList<>();
    for (RequestOp op : ops) {
      if (op instanceof RequestOp.RequestTxn n) {
        Writes then = intervals(n.request().success());
        Writes otherwise = intervals(n.request().failure());
        for (ByteBuffer k : then.puts()) {
          addPut(puts, dels, k);
        }
        for (ByteBuffer k : otherwise.puts()) {
          if (then.puts().contains(k)) {
            continue; // then and else are exclusive
          }
          addPut(puts, dels, k);
        }
        nestedDels.addAll(then.dels());
        nestedDels.addAll(otherwise.dels());
      }
    }
    dels.addAll(nestedDels);
    for (RequestOp op : ops) {
      if (op instanceof RequestOp.RequestPut p) {
        addPut(puts, dels, ByteBuffer.wrap(p.request().key()));
      }
    }
    return new Writes(puts, dels);
  }

  private static void addPut(Set<ByteBuffer> puts, List<Interval> dels, ByteBuffer k) {
    byte[] key = new byte[k.remaining()];
    k.duplicate().get(key);
    for (Interval d : dels) {
      if (d.contains(key)) {
        throw new EtcdException(EtcdError.DUPLICATE_KEY);
      }
    }
    if (!puts.add(k)) {
      throw new EtcdException(EtcdError.DUPLICATE_KEY);
    }
  }
}
