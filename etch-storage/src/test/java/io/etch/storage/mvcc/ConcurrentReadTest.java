package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Point reads racing the apply thread, value cache on: a read at revision R returns exactly the
 * version written at R (the key is written at every revision), never an older cached one nor one
 * from a batch not yet published.
 */
class ConcurrentReadTest extends MvccTestSupport {
  @Test
  void pointReadsRacingWritesReturnTheVersionOfTheirRevision() throws Exception {
    put("x", "2"); // revision 2: the value is the revision
    AtomicBoolean stop = new AtomicBoolean();
    ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
    List<Thread> readers = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      Thread th =
          new Thread(
              () -> {
                long reads = 0;
                while (!stop.get() || reads < 1000) {
                  RangeResponse r = store.range(RangeRequest.of(b("x")));
                  KeyValue kv = r.kvs().get(0);
                  long rev = r.header().revision();
                  if (kv.modRevision() != rev || !s(kv.value()).equals(Long.toString(rev))) {
                    wrong.add("at " + rev + ": " + kv);
                  }
                  if (rev > 2) {
                    KeyValue old =
                        store.range(RangeRequest.of(b("x")).withRevision(rev - 1)).kvs().get(0);
                    if (old.modRevision() != rev - 1) {
                      wrong.add("at " + (rev - 1) + ": " + old);
                    }
                  }
                  reads++;
                }
              });
      th.start();
      readers.add(th);
    }
    for (int i = 0; i < 3000; i++) {
      long rev = store.currentRevision() + 1;
      put("x", Long.toString(rev));
    }
    stop.set(true);
    for (Thread th : readers) {
      th.join();
    }
    assertThat(wrong).isEmpty();
    assertThat(store.currentRevision()).isEqualTo(3002);
  }
}
