package io.etch.server.maintenance;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.server.EtchServer;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Auto-compaction on a running member, through raft, as a client sees it. */
class AutoCompactionTest {
  @TempDir Path dir;
  EtchServer server;
  ManagedChannel ch;

  @AfterEach
  void tearDown() throws Exception {
    TestServer.close(ch);
    if (server != null) {
      server.close();
    }
  }

  long put(KVGrpc.KVBlockingStub kv, String k) {
    return kv.put(
            PutRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8(k))
                .setValue(ByteString.copyFromUtf8("v"))
                .build())
        .getHeader()
        .getRevision();
  }

  static void await(String what, java.util.function.BooleanSupplier cond) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void revisionModeKeepsTheLastRetentionRevisions() throws Exception {
    int port = TestServer.freePort();
    server =
        TestServer.start(
            dir.resolve("data"),
            port,
            Duration.ofMillis(50),
            5000,
            "--auto-compaction-mode=revision",
            "--auto-compaction-retention=10");
    ch = TestServer.channel(port);
    KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
    long last = 0;
    for (int i = 0; i < 25; i++) {
      last = put(kv, "k" + (i % 3));
    }
    long expected = last - 10;
    await("compaction to " + expected, () -> server.store().compactRevision() == expected);
    // A client reading below the compacted revision gets etcd's error.
    StatusRuntimeException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            StatusRuntimeException.class,
            () ->
                kv.range(
                    RangeRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8("k0"))
                        .setRevision(expected - 1)
                        .build()));
    assertThat(e.getStatus().getDescription())
        .isEqualTo("etcdserver: mvcc: required revision has been compacted");
    assertThat(
            kv.range(
                    RangeRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8("k0"))
                        .setRevision(expected)
                        .build())
                .getCount())
        .isEqualTo(1);
  }

  @Test
  void periodicModeCompactsToTheRevisionOfOneRetentionAgo() throws Exception {
    int port = TestServer.freePort();
    server =
        TestServer.start(
            dir.resolve("data"),
            port,
            "--auto-compaction-mode=periodic",
            "--auto-compaction-retention=1s");
    ch = TestServer.channel(port);
    KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
    // The empty store's revision is the compactor's first sample: etcd compacts to it after the
    // first retention; the compaction checked below is a later one, of a revision written here.
    long initial = server.store().currentRevision();
    long first = put(kv, "a");
    // No compaction before a whole retention has passed since start.
    Thread.sleep(300);
    assertThat(server.store().compactRevision()).isZero();
    // When each revision was written (answered), to check which one compaction picked.
    java.util.TreeMap<Long, Long> writtenAt = new java.util.TreeMap<>();
    writtenAt.put(first, System.nanoTime());
    long startedWriting = System.nanoTime();
    while (System.nanoTime() - startedWriting < Duration.ofMillis(1500).toNanos()) {
      writtenAt.put(put(kv, "a"), System.nanoTime());
      Thread.sleep(20);
    }
    await("a periodic compaction", () -> server.store().compactRevision() > initial);
    long observed = System.nanoTime();
    long compacted = server.store().compactRevision();
    // Compacted to the revision that was current one retention before the compaction: it was
    // written at least about a second before we saw the compaction, and history since is kept.
    assertThat(writtenAt).containsKey(compacted);
    assertThat(observed - writtenAt.get(compacted)).isGreaterThan(Duration.ofMillis(900).toNanos());
    assertThat(compacted).isLessThan(writtenAt.lastKey());
    assertThat(
            kv.range(
                    RangeRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8("a"))
                        .setRevision(compacted)
                        .build())
                .getCount())
        .isEqualTo(1);
  }
}
