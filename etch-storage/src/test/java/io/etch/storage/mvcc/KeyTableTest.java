package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class KeyTableTest {
  private static byte[] key(int i) {
    return ("k" + i).getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void agreesWithAHashMapThroughInsertsRemovesReinsertsAndGrowth() {
    KeyTable t = new KeyTable(4);
    Map<Integer, KeyIndex> model = new HashMap<>();
    Random r = new Random(3);
    for (int step = 0; step < 200_000; step++) {
      int k = r.nextInt(20_000);
      KeyIndex present = model.get(k);
      if (present == null) {
        KeyIndex ki = new KeyIndex(key(k));
        t.insert(ki);
        model.put(k, ki);
      } else if (r.nextInt(3) == 0) {
        assertThat(t.remove(present)).isTrue();
        assertThat(t.remove(present)).isFalse();
        model.remove(k);
      }
      if (step % 10_000 == 0) {
        for (int q = 0; q < 20_000; q += 7) {
          assertThat(t.get(key(q))).isSameAs(model.get(q));
        }
        assertThat(t.size()).isEqualTo(model.size());
      }
    }
    for (int q = 0; q < 20_000; q++) {
      assertThat(t.get(key(q))).isSameAs(model.get(q));
    }
  }

  @Test
  void aReaderAlwaysFindsKeysInsertedBeforeItStartedWhileTheWriterGrowsAndRemoves()
      throws Exception {
    KeyTable t = new KeyTable(16);
    KeyIndex[] stable = new KeyIndex[1000];
    for (int i = 0; i < stable.length; i++) {
      stable[i] = new KeyIndex(key(i));
      t.insert(stable[i]);
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<String> failure = new AtomicReference<>();
    Thread reader =
        new Thread(
            () -> {
              Random r = new Random(5);
              while (!stop.get()) {
                int i = r.nextInt(stable.length);
                if (t.get(key(i)) != stable[i]) {
                  failure.set("lost key " + i);
                  return;
                }
              }
            });
    reader.start();
    // Churn: keys come and go, the table grows and is cleared of removed slots many times.
    KeyIndex[] churn = new KeyIndex[50_000];
    for (int round = 0; round < 20; round++) {
      for (int i = 0; i < churn.length; i++) {
        churn[i] = new KeyIndex(key(1_000_000 + round * churn.length + i));
        t.insert(churn[i]);
      }
      for (KeyIndex ki : churn) {
        assertThat(t.remove(ki)).isTrue();
      }
    }
    stop.set(true);
    reader.join();
    assertThat(failure.get()).isNull();
    assertThat(t.size()).isEqualTo(stable.length);
  }
}
