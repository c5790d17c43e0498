package io.etch.server.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.raft.RaftException;
import io.etch.server.EtchServer;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --snapshot-count}: raft log snapshots, log compaction, and restart from the snapshot. */
class RaftSnapshotTest {
  @TempDir Path dir;
  EtchServer server;
  ManagedChannel ch;

  static final long CATCH_UP = 5;

  EtchServer start(int port) throws Exception {
    server =
        TestServer.start(
            dir.resolve("data"), port, Duration.ofMinutes(5), CATCH_UP, "--snapshot-count=20");
    ch = TestServer.channel(port);
    return server;
  }

  @AfterEach
  void tearDown() throws Exception {
    TestServer.close(ch);
    if (server != null) {
      server.close();
    }
  }

  @Test
  void snapshotEverySnapshotCountEntriesCompactsTheLogAndRestartResumesFromIt() throws Exception {
    int port = TestServer.freePort();
    start(port);
    KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
    Map<String, Long> revisions = new HashMap<>();
    for (int i = 0; i < 50; i++) {
      String k = "k" + i;
      long rev =
          kv.put(
                  PutRequest.newBuilder()
                      .setKey(ByteString.copyFromUtf8(k))
                      .setValue(ByteString.copyFromUtf8("v" + i))
                      .build())
              .getHeader()
              .getRevision();
      revisions.put(k, rev);
    }
    // etcd snapshots once applied - snapshot > snapshot-count; about 53 entries were applied.
    long snap = server.wal().snapshot().index();
    assertThat(snap).isGreaterThan(20);
    assertThat(server.wal().snapshot().metadata().confState().voters())
        .containsExactly(server.memberId());
    // The log keeps CATCH_UP entries behind the snapshot for slow followers, none before.
    assertThat(server.wal().firstIndex()).isEqualTo(snap - CATCH_UP + 1);
    assertThatThrownBy(() -> server.wal().entries(1, 2, Long.MAX_VALUE))
        .isInstanceOf(RaftException.class);
    long applied = server.raft().appliedIndex();
    long revision = server.store().currentRevision();

    TestServer.close(ch);
    server.close();
    server = null;
    start(port);
    kv = KVGrpc.newBlockingStub(ch);
    // The restarted log begins at the snapshot: nothing before it is replayed.
    assertThat(server.wal().snapshot().index()).isEqualTo(snap);
    assertThat(server.wal().firstIndex()).isGreaterThan(1);
    assertThat(server.store().consistentIndex()).isGreaterThanOrEqualTo(applied);
    assertThat(server.store().currentRevision()).isEqualTo(revision);
    RangeResponse all =
        kv.range(
            RangeRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8("k"))
                .setRangeEnd(ByteString.copyFromUtf8("l"))
                .build());
    assertThat(all.getCount()).isEqualTo(50);
    all.getKvsList()
        .forEach(
            kvp ->
                assertThat(kvp.getModRevision())
                    .isEqualTo(revisions.get(kvp.getKey().toStringUtf8())));
    // And it goes on: writes after the restart are applied and snapshotted further.
    for (int i = 0; i < 30; i++) {
      kv.put(
          PutRequest.newBuilder()
              .setKey(ByteString.copyFromUtf8("after" + i))
              .setValue(ByteString.copyFromUtf8("x"))
              .build());
    }
    assertThat(server.wal().snapshot().index()).isGreaterThan(snap);
  }
}
