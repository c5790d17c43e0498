package io.etch.cli.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.cli.Etchctl;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code etchctl snapshot save|status|restore} against an in-process member over a real socket; the
 * restored data directory starts as a new one-member cluster.
 */
class SnapshotCommandTest {
  @TempDir Path dir;
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  int etchctl(String... args) {
    CommandLine cmd = new CommandLine(new Etchctl());
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    return cmd.execute(args);
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static EtchServer start(Path data, int port, int peerPort, String name) throws Exception {
    return EtchServer.start(
        EtchConfig.parse(
            new String[] {
              "--name=" + name,
              "--data-dir=" + data,
              "--listen-client-urls=http://127.0.0.1:" + port,
              "--advertise-client-urls=http://127.0.0.1:" + port,
              "--listen-peer-urls=http://127.0.0.1:" + peerPort,
              "--initial-advertise-peer-urls=http://127.0.0.1:" + peerPort,
              "--initial-cluster=" + name + "=http://127.0.0.1:" + peerPort,
              "--heartbeat-interval=10",
              "--election-timeout=100"
            },
            Map.of()));
  }

  @Test
  void saveStatusAndRestoreRoundTrip() throws Exception {
    int port = freePort();
    Path file = dir.resolve("s.db");
    long rev;
    try (EtchServer server = start(dir.resolve("src"), port, freePort(), "src")) {
      ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      var kv = KVGrpc.newBlockingStub(ch);
      for (int i = 0; i < 100; i++) {
        kv.put(
            PutRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8("k" + i))
                .setValue(ByteString.copyFromUtf8("v" + i))
                .build());
      }
      rev =
          kv.range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("k1")).build())
              .getHeader()
              .getRevision();
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      assertThat(etchctl("snapshot", "save", file.toString(), "--endpoints=127.0.0.1:" + port))
          .as(err.toString())
          .isZero();
    }
    assertThat(out.toString()).contains("Snapshot saved at " + file);
    assertThat(Files.size(file) % 512).isEqualTo(32);

    out.getBuffer().setLength(0);
    assertThat(etchctl("snapshot", "status", file.toString(), "-w", "json")).isZero();
    assertThat(out.toString())
        .matches(
            "\\{\"hash\":\\d+,\"revision\":"
                + rev
                + ",\"totalKey\":100,\"totalSize\":"
                + Files.size(file)
                + "\\}\\s*");
    java.util.regex.Matcher hash =
        java.util.regex.Pattern.compile("\"hash\":(\\d+)").matcher(out.toString());
    assertThat(hash.find()).isTrue();
    String hex = Long.toHexString(Long.parseLong(hash.group(1)));
    out.getBuffer().setLength(0);
    assertThat(etchctl("snapshot", "status", file.toString(), "-w", "table")).isZero();
    // etcdctl prints the hash with %x, so its column is narrower than 8 for one hash in 16, and
    // the table centres the header in it (8 wide: "|   HASH   |", 7 wide: "|  HASH   |").
    int pad = Math.max(4, hex.length()) + 2 - 4;
    String header = "|" + " ".repeat(pad / 2) + "HASH" + " ".repeat(pad - pad / 2) + "|";
    assertThat(out.toString())
        .contains(header + " REVISION | TOTAL KEYS | TOTAL SIZE |")
        .contains(" " + hex + " |");

    // A damaged file is refused with the checksum error.
    Path bad = dir.resolve("bad.db");
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 1;
    Files.write(bad, bytes);
    assertThat(etchctl("snapshot", "status", bad.toString())).isEqualTo(1);
    assertThat(err.toString()).contains("sha256 mismatch");

    int port2 = freePort();
    int peer2 = freePort();
    Path restored = dir.resolve("restored");
    assertThat(
            etchctl(
                "snapshot",
                "restore",
                file.toString(),
                "--name=r",
                "--data-dir=" + restored,
                "--initial-cluster=r=http://127.0.0.1:" + peer2,
                "--initial-cluster-token=tok",
                "--initial-advertise-peer-urls=http://127.0.0.1:" + peer2))
        .as(err.toString())
        .isZero();
    try (EtchServer r = start(restored, port2, peer2, "r")) {
      ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port2).usePlaintext().build();
      var kv = KVGrpc.newBlockingStub(ch);
      var got =
          kv.range(
              RangeRequest.newBuilder()
                  .setKey(ByteString.copyFromUtf8("k"))
                  .setRangeEnd(ByteString.copyFromUtf8("l"))
                  .build());
      assertThat(got.getCount()).isEqualTo(100);
      assertThat(got.getHeader().getRevision()).isEqualTo(rev);
      assertThat(r.store().members()).hasSize(1);
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
