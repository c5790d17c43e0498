package io.etch.server.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etch.server.EtchServer;
import io.etch.server.etcdctl.Etcdctl;
import io.etch.server.maintenance.SnapshotRestore;
import io.etch.server.maintenance.TestServer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Maintenance.Snapshot saved by Debian's etcdctl 3.4, restored by {@link SnapshotRestore} into
 * three new data directories, and a three-member cluster started from them: the whole history at
 * the snapshot's revision is served everywhere, with the source's revisions and HashKV.
 */
class SnapshotRestoreClusterTest {
  @TempDir Path tmp;

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  @Test
  void aClusterRestoredFromAnEtcdctlSnapshotServesTheSourceAtItsRevision() throws Exception {
    int port = TestServer.freePort();
    Map<String, Long> modRevisions = new HashMap<>();
    Map<String, String> values = new HashMap<>();
    long revision;
    int sourceHash;
    long compactRevision;
    long leaseId;
    long indexedKeys;
    Path file = tmp.resolve("snap.db");
    try (EtchServer source = TestServer.start(tmp.resolve("source"), port);
        Client c = Client.builder().endpoints("http://127.0.0.1:" + port).build()) {
      KV kv = c.getKVClient();
      List<CompletableFuture<?>> puts = new ArrayList<>();
      for (int i = 0; i < 3000; i++) {
        puts.add(kv.put(b(String.format("k%05d", i)), b("v" + i)));
        if (puts.size() == 200) {
          CompletableFuture.allOf(puts.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
          puts.clear();
        }
      }
      CompletableFuture.allOf(puts.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
      for (int i = 0; i < 3000; i += 10) {
        kv.delete(b(String.format("k%05d", i))).get(10, TimeUnit.SECONDS);
      }
      compactRevision = kv.put(b("k00001"), b("again")).get().getHeader().getRevision();
      kv.compact(compactRevision).get(10, TimeUnit.SECONDS);
      for (int i = 1; i < 3000; i += 7) {
        kv.put(b(String.format("k%05d", i)), b("w" + i)).get(10, TimeUnit.SECONDS);
      }
      leaseId = c.getLeaseClient().grant(3600).get().getID();
      kv.put(b("leased"), b("x"), PutOption.newBuilder().withLeaseId(leaseId).build()).get();
      GetResponse all = kv.get(b("\0"), GetOption.newBuilder().withRange(b("\0")).build()).get();
      for (KeyValue k : all.getKvs()) {
        modRevisions.put(k.getKey().toString(UTF_8), k.getModRevision());
        values.put(k.getKey().toString(UTF_8), k.getValue().toString(UTF_8));
      }
      revision = all.getHeader().getRevision();
      sourceHash = source.store().hashKV(revision).hash();
      indexedKeys = source.store().indexedKeys();

      Etcdctl.Result saved =
          Etcdctl.run("127.0.0.1:" + port, null, List.of("snapshot", "save", file.toString()));
      assertThat(saved.exit()).as(saved.err()).isZero();
      assertThat(saved.out()).contains("Snapshot saved at " + file);
    }
    assertThat(Files.size(file) % 512).isEqualTo(32);
    SnapshotRestore.Status st = SnapshotRestore.status(file);
    assertThat(st.revision()).isEqualTo(revision);
    assertThat(st.totalKeys()).isEqualTo(indexedKeys);

    try (TestCluster cluster =
        new TestCluster(
            tmp.resolve("restored"),
            3,
            EtchServer.Tuning.ETCD,
            c -> {
              for (int i = 0; i < 3; i++) {
                SnapshotRestore.restore(
                    file,
                    new SnapshotRestore.Options(
                        "m" + i,
                        String.join(",", c.initialCluster),
                        "etcd-cluster",
                        List.of(URI.create(c.peerUrl(i))),
                        c.dataRoot.resolve("m" + i)));
              }
            })) {
      cluster.awaitLeader();
      for (int i = 0; i < 3; i++) {
        EtchServer m = cluster.member(i);
        assertThat(m.store().currentRevision()).isEqualTo(revision);
        assertThat(m.store().hashKV(revision).hash()).as("hashKV of m%d", i).isEqualTo(sourceHash);
        assertThat(m.store().compactRevision()).isEqualTo(compactRevision);
        assertThat(m.store().members()).hasSize(3);
        GetResponse all =
            cluster
                .client(i)
                .getKVClient()
                .get(
                    b("\0"),
                    GetOption.newBuilder().withRange(b("\0")).withSerializable(true).build())
                .get(10, TimeUnit.SECONDS);
        Map<String, Long> got = new HashMap<>();
        for (KeyValue k : all.getKvs()) {
          String key = k.getKey().toString(UTF_8);
          got.put(key, k.getModRevision());
          assertThat(k.getValue().toString(UTF_8)).as(key).isEqualTo(values.get(key));
        }
        assertThat(got).isEqualTo(modRevisions);
      }
      // Leases are kept, as etcd's restore keeps them.
      assertThat(
              cluster
                  .client(0)
                  .getLeaseClient()
                  .timeToLive(leaseId, io.etcd.jetcd.options.LeaseOption.DEFAULT)
                  .get()
                  .getTTL())
          .isPositive();
      long after =
          cluster
              .client(1)
              .getKVClient()
              .put(b("after"), b("1"))
              .get(10, TimeUnit.SECONDS)
              .getHeader()
              .getRevision();
      assertThat(after).isEqualTo(revision + 1);
      cluster.assertSameData();
    }
  }
}
