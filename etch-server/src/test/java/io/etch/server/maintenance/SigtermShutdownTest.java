package io.etch.server.maintenance;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.PutResponse;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.server.EtchServer;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM on a real etch process ({@code Process.destroy()}): it stops accepting, finishes what it
 * applied, closes RocksDB and the WAL; a restart serves every acknowledged write at the revision it
 * was acknowledged with.
 */
class SigtermShutdownTest {
  @TempDir Path dir;
  Process process;
  EtchServer restarted;
  ManagedChannel ch;

  @AfterEach
  void tearDown() throws Exception {
    TestServer.close(ch);
    if (process != null && process.isAlive()) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (restarted != null) {
      restarted.close();
    }
  }

  static String testClasspath() {
    String cp = System.getProperty("surefire.test.class.path");
    return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
  }

  @Test
  void sigtermFinishesInFlightWritesAndRestartServesEveryAcknowledgedOne() throws Exception {
    int port = TestServer.freePort();
    Path data = dir.resolve("data");
    Path log = dir.resolve("etch.log");
    process = startEtch(data, port, log);
    ch = TestServer.channel(port);
    awaitServing(ch, log);
    KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
    Map<String, Long> acknowledged = new LinkedHashMap<>();
    for (int i = 0; i < 20; i++) {
      acknowledged.put("seq" + i, put(kv, "seq" + i).getHeader().getRevision());
    }
    // Writes in flight when the signal arrives: each either is acknowledged or fails.
    KVGrpc.KVFutureStub async = KVGrpc.newFutureStub(ch);
    List<ListenableFuture<PutResponse>> inFlight = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      inFlight.add(async.put(request("async" + i)));
    }
    process.destroy(); // SIGTERM
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("exits after SIGTERM").isTrue();
    int failed = 0;
    for (int i = 0; i < inFlight.size(); i++) {
      try {
        acknowledged.put("async" + i, inFlight.get(i).get().getHeader().getRevision());
      } catch (ExecutionException e) {
        failed++;
      }
    }
    String output = Files.readString(log);
    assertThat(output).contains("received stop signal").contains("\"stopped\"");
    assertThat(output).doesNotContain("ERROR");
    TestServer.close(ch);

    // The WAL and RocksDB were closed cleanly: an in-process member reopens them at once.
    restarted = TestServer.start(data, port);
    ch = TestServer.channel(port);
    kv = KVGrpc.newBlockingStub(ch);
    for (Map.Entry<String, Long> e : acknowledged.entrySet()) {
      RangeResponse r =
          kv.range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(e.getKey())).build());
      assertThat(r.getKvsCount()).as("acknowledged %s is served", e.getKey()).isEqualTo(1);
      assertThat(r.getKvs(0).getModRevision()).as(e.getKey()).isEqualTo(e.getValue());
    }
    assertThat(acknowledged.size() + failed).isEqualTo(20 + 200);
    // Every acknowledged write had its own revision, and the store kept all of them.
    assertThat(new java.util.HashSet<>(acknowledged.values())).hasSize(acknowledged.size());
    assertThat(restarted.store().currentRevision())
        .isGreaterThanOrEqualTo(
            acknowledged.values().stream().mapToLong(Long::longValue).max().orElseThrow());
  }

  static Process startEtch(Path data, int port, Path log) throws java.io.IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(
            java,
            "-Xmx256m",
            // A quick start on a busy machine; this test is about shutdown, not speed.
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-cp",
            testClasspath(),
            "io.etch.server.Main",
            "--data-dir=" + data,
            "--listen-client-urls=http://127.0.0.1:" + port,
            "--listen-peer-urls=http://127.0.0.1:0",
            "--advertise-client-urls=http://127.0.0.1:" + port,
            "--heartbeat-interval=10",
            "--election-timeout=100")
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  /**
   * A WAL that can no longer be written (its directory is gone, as when a disk fails) stops the
   * member: the process exits with status 1 and says why, as etcd exits on a failed WAL write,
   * instead of staying up with a raft loop that no longer runs.
   */
  @Test
  void walFailureStopsTheProcessWithExitStatus1() throws Exception {
    int port = TestServer.freePort();
    Path data = dir.resolve("data");
    Path log = dir.resolve("etch.log");
    process = startEtch(data, port, log);
    ch = TestServer.channel(port);
    awaitServing(ch, log);
    KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
    put(kv, "before");
    Path wal = data.resolve("member").resolve("wal");
    assertThat(wal).isDirectory();
    try (var files = Files.walk(wal)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
    // Enough to fill the open segment (64 MiB): the next one cannot be created.
    ByteString big = ByteString.copyFrom(new byte[1 << 20]);
    for (int i = 0; i < 100 && process.isAlive(); i++) {
      try {
        kv.withDeadlineAfter(5, TimeUnit.SECONDS)
            .put(
                PutRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8("big" + i))
                    .setValue(big)
                    .build());
      } catch (RuntimeException e) {
        // writes fail once the WAL has failed; the process is expected to go away
      }
    }
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("exits after its WAL failed").isTrue();
    assertThat(process.exitValue()).isEqualTo(1);
    assertThat(Files.readString(log)).contains("stopping the member after a fatal error");
  }

  static PutRequest request(String k) {
    return PutRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8(k))
        .setValue(ByteString.copyFromUtf8("value-of-" + k))
        .build();
  }

  static PutResponse put(KVGrpc.KVBlockingStub kv, String k) {
    return kv.put(request(k));
  }

  void awaitServing(ManagedChannel ch, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    MaintenanceGrpc.MaintenanceBlockingStub m = MaintenanceGrpc.newBlockingStub(ch);
    while (true) {
      try {
        if (m.withDeadlineAfter(1, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance())
                .getLeader()
            != 0) {
          return;
        }
      } catch (RuntimeException e) {
        // not up yet
      }
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("etch did not start:\n" + Files.readString(log));
      }
      Thread.sleep(100);
    }
  }
}
