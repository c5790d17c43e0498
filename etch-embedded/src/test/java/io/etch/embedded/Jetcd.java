package io.etch.embedded;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.options.GetOption;
import java.net.URI;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** jetcd helpers for the tests. */
final class Jetcd {
  private Jetcd() {}

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  static Client client(List<URI> endpoints) {
    return Client.builder().endpoints(endpoints).build();
  }

  static void put(KV kv, String key, String value) throws Exception {
    kv.put(b(key), b(value)).get(10, TimeUnit.SECONDS);
  }

  /** The value of {@code key}, or null; serializable reads answer from the member asked alone. */
  static String get(KV kv, String key, boolean serializable) throws Exception {
    var r =
        kv.get(b(key), GetOption.builder().withSerializable(serializable).build())
            .get(10, TimeUnit.SECONDS);
    return r.getKvs().isEmpty() ? null : r.getKvs().get(0).getValue().toString(UTF_8);
  }

  /** The revision the next write will get. */
  static long nextRevision(Client client) throws Exception {
    return client.getKVClient().get(b("\0")).get(10, TimeUnit.SECONDS).getHeader().getRevision()
        + 1;
  }
}
