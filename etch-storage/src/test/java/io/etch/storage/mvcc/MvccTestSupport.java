package io.etch.storage.mvcc;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A fresh store per test and one-line helpers that each apply one write in its own batch. */
abstract class MvccTestSupport {
  @TempDir Path tmp;
  MvccStore store;
  long nextIndex = 1;

  @BeforeEach
  void openStore() {
    store = MvccStore.open(tmp.resolve("db"));
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  void reopen() {
    store.close();
    store = MvccStore.open(tmp.resolve("db"));
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String s(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  <T> T apply(Function<ApplyBatch, T> op) {
    try (ApplyBatch batch = store.newBatch()) {
      T r = op.apply(batch);
      batch.setConsistentIndex(nextIndex++, 1);
      batch.commit();
      return r;
    }
  }

  /**
   * {@code rounds} revisions, each putting keys k0..k(keys-1) with incompressible values of {@code
   * valueBytes} (from {@code seed}): a history of known size.
   */
  void putRandomRounds(int rounds, int keys, int valueBytes, long seed) {
    Random r = new Random(seed);
    for (int round = 0; round < rounds; round++) {
      apply(
          b -> {
            for (int k = 0; k < keys; k++) {
              byte[] v = new byte[valueBytes];
              r.nextBytes(v);
              b.put(PutRequest.of(b("k" + k), v));
            }
            return null;
          });
    }
  }

  PutResponse put(String k, String v) {
    return apply(a -> a.put(PutRequest.of(b(k), b(v))));
  }

  PutResponse put(String k, String v, long lease) {
    return apply(a -> a.put(new PutRequest(b(k), b(v), lease, false, false, false)));
  }

  DeleteRangeResponse delete(String k) {
    return apply(a -> a.deleteRange(DeleteRangeRequest.of(b(k))));
  }

  DeleteRangeResponse deleteRange(String k, String end) {
    return apply(a -> a.deleteRange(new DeleteRangeRequest(b(k), b(end), true)));
  }

  TxnResponse txn(TxnRequest t) {
    return apply(a -> a.txn(t));
  }

  void compact(long rev) {
    apply(a -> a.compact(rev)).join();
  }

  KeyValue get(String k) {
    List<KeyValue> kvs = store.range(RangeRequest.of(b(k))).kvs();
    return kvs.isEmpty() ? null : kvs.get(0);
  }

  KeyValue getAt(String k, long rev) {
    List<KeyValue> kvs = store.range(RangeRequest.of(b(k)).withRevision(rev)).kvs();
    return kvs.isEmpty() ? null : kvs.get(0);
  }

  List<String> keys(RangeResponse r) {
    return r.kvs().stream().map(kv -> s(kv.key())).toList();
  }

  static KeyValue kv(String k, long create, long mod, long version, String v) {
    return new KeyValue(b(k), create, mod, version, b(v), 0);
  }
}
