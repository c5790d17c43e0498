package io.etch.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.api.etcdserverpb.AlarmType;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;

/**
 * etcd's corruption checks against a member whose store was changed behind raft's back (a value
 * byte flipped in its RocksDB while it was stopped): the initial check refuses to start it; the
 * leader's periodic check raises CORRUPT for it, after which every member refuses requests.
 */
class CorruptionCheckTest {
  @TempDir Path dir;

  @Test
  void aMemberWhoseDataDiffersIsRefusedAtStartAndFlaggedCorruptByTheLeader() throws Exception {
    assertThat(
            EtchConfig.parse(new String[] {"--experimental-corrupt-check-time=1m30s"}, Map.of())
                .corruptCheckTime())
        .isEqualTo(Duration.ofSeconds(90));
    try (TestCluster c = new TestCluster(dir, 3, EtchServer.Tuning.ETCD)) {
      var kv = c.client(0).getKVClient();
      for (int i = 0; i < 50; i++) {
        kv.put(TestCluster.b("k" + i), TestCluster.b("v" + i)).get(10, TimeUnit.SECONDS);
      }
      c.assertSameData();
      c.kill(2);
      corruptFirstValue(c.dataRoot.resolve("m2").resolve("member").resolve("db"));

      c.memberFlags = i -> List.of("--experimental-initial-corrupt-check");
      assertThatThrownBy(() -> c.restart(2))
          .hasStackTraceContaining("found data inconsistency with peers");

      c.memberFlags = i -> List.of();
      EtchServer corrupted = c.restart(2);
      int leader = c.awaitLeader();
      assertThat(leader).isNotEqualTo(2);
      List<Long> raised = c.member(leader).corruptionCheck().checkAsLeader();
      assertThat(raised).containsExactly(corrupted.memberId());
      TestCluster.await(
          Duration.ofSeconds(10),
          () -> c.members.stream().allMatch(m -> m.alarms().raised(AlarmType.CORRUPT)),
          "CORRUPT on every member");
      assertThatThrownBy(() -> kv.put(TestCluster.b("x"), TestCluster.b("1")).get())
          .isInstanceOf(ExecutionException.class)
          .hasMessageContaining("etcdserver: corrupt cluster");
    }
  }

  /** Flips the last byte of the first stored revision's value (its value bytes end the record). */
  static void corruptFirstValue(Path db) throws Exception {
    List<byte[]> names;
    try (Options o = new Options()) {
      names = RocksDB.listColumnFamilies(o, db.toString());
    }
    List<ColumnFamilyDescriptor> cfs = new ArrayList<>();
    for (byte[] n : names) {
      cfs.add(new ColumnFamilyDescriptor(n));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions o = new DBOptions();
        RocksDB rdb = RocksDB.open(o, db.toString(), cfs, handles)) {
      ColumnFamilyHandle kvCf = null;
      for (int i = 0; i < names.size(); i++) {
        if (new String(names.get(i), java.nio.charset.StandardCharsets.UTF_8).equals("kv")) {
          kvCf = handles.get(i);
        }
      }
      assertThat(kvCf).as("kv column family").isNotNull();
      try (RocksIterator it = rdb.newIterator(kvCf)) {
        it.seekToFirst();
        assertThat(it.isValid()).isTrue();
        byte[] v = it.value();
        v[v.length - 1] ^= 1;
        rdb.put(kvCf, it.key(), v);
      }
      rdb.flushWal(true);
      handles.forEach(ColumnFamilyHandle::close);
    }
  }
}
