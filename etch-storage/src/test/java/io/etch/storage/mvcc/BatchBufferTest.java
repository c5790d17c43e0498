package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.rocksdb.WriteBatch;

class BatchBufferTest extends MvccTestSupport {

  /** Keys and values of every length class a varint length can have (1, 2 and 3 bytes). */
  private static byte[] bytes(Random r, int len) {
    byte[] b = new byte[len];
    r.nextBytes(b);
    return b;
  }

  @Test
  void serializedBatchIsByteForByteWhatRocksDbBuilds() throws Exception {
    Generation g = store.gen();
    Random r = new Random(1);
    BatchBuffer ours = new BatchBuffer();
    try (WriteBatch theirs = new WriteBatch()) {
      for (int i = 0; i < 300; i++) {
        int len = new int[] {0, 1, 127, 128, 300, 16383, 16384, 70_000}[i % 8];
        byte[] k = bytes(r, 1 + (i % 40));
        byte[] v = bytes(r, len);
        switch (i % 5) {
          case 0 -> {
            ours.put(g.cfId(g.metaCf), k, v); // the default column family: no id in the record
            theirs.put(g.metaCf, k, v);
          }
          case 1 -> {
            ours.put(g.cfId(g.leaseCf), k, v);
            theirs.put(g.leaseCf, k, v);
          }
          case 2 -> {
            ours.delete(g.cfId(g.membersCf), k);
            theirs.delete(g.membersCf, k);
          }
          case 3 -> {
            ours.delete(g.cfId(g.metaCf), k);
            theirs.delete(g.metaCf, k);
          }
          default -> {
            KeyValue kv = new KeyValue(k, i, i + 7, i % 3, v, i % 2 == 0 ? 0 : 1L << 40);
            ours.putRevision(g.kvCfId, i + 7, i % 4, kv);
            theirs.put(g.kvCf, Revision.toBytes(i + 7, i % 4, false), KeyValueCodec.encode(kv));
          }
        }
      }
      assertThat(ours.count()).isEqualTo(theirs.count());
      assertThat(ours.data()).isEqualTo(theirs.data());
    }
  }

  @Test
  void aResetBufferStartsAnEmptyBatch() throws Exception {
    Generation g = store.gen();
    BatchBuffer ours = new BatchBuffer();
    ours.put(g.kvCfId, b("x"), b("y"));
    ours.reset();
    ours.put(g.cfId(g.leaseCf), b("k"), b("v"));
    try (WriteBatch theirs = new WriteBatch()) {
      theirs.put(g.leaseCf, b("k"), b("v"));
      assertThat(ours.data()).isEqualTo(theirs.data());
    }
  }
}
