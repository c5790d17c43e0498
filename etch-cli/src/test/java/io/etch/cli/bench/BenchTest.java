package io.etch.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.cli.Etchctl;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code etchctl bench} against an in-process one-member etch over a real socket. */
class BenchTest {
  @TempDir Path dir;
  EtchServer server;
  ManagedChannel channel;
  String endpoint;
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  @BeforeEach
  void start() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    endpoint = "http://127.0.0.1:" + port;
    server =
        EtchServer.start(
            EtchConfig.parse(
                new String[] {
                  "--data-dir=" + dir.resolve("data"),
                  "--listen-client-urls=" + endpoint,
                  "--listen-peer-urls=http://127.0.0.1:0",
                  "--heartbeat-interval=10",
                  "--election-timeout=100"
                },
                Map.of()));
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  int bench(String... args) {
    String[] all = new String[args.length + 2];
    all[0] = "bench";
    System.arraycopy(args, 0, all, 1, args.length);
    all[all.length - 1] = "--endpoints=" + endpoint;
    CommandLine cmd = new CommandLine(new Etchctl());
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    return cmd.execute(all);
  }

  static long field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\":(\\d+)").matcher(json);
    assertThat(m.find()).as("field %s in %s", name, json).isTrue();
    return Long.parseLong(m.group(1));
  }

  /** Keys in [from, to) and their values' sizes, read straight from the server. */
  RangeResponse range(String from, String to) {
    return KVGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .range(
            RangeRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8(from))
                .setRangeEnd(ByteString.copyFromUtf8(to))
                .build());
  }

  @Test
  void putSendsExactlyTotalRequestsAndWritesEveryKeyOfASequentialKeySpace() {
    int code =
        bench(
            "put",
            "--conns=3",
            "--clients=10",
            "--total=257",
            "--key-space-size=100",
            "--sequential-keys",
            "--val-size=32",
            "-w",
            "json");

    String json = out.toString().trim();
    assertThat(code).as("exit code; stderr: %s", err).isZero();
    assertThat(json.lines()).hasSize(1);
    assertThat(field(json, "attempted")).isEqualTo(257);
    assertThat(field(json, "ok")).isEqualTo(257);
    assertThat(field(json, "failed")).isZero();
    RangeResponse r = range("00000000", "00000100");
    assertThat(r.getCount()).isEqualTo(100);
    assertThat(r.getKvs(0).getKey().toStringUtf8()).isEqualTo("00000000");
    assertThat(r.getKvs(99).getKey().toStringUtf8()).isEqualTo("00000099");
    assertThat(r.getKvsList()).allSatisfy(kv -> assertThat(kv.getValue().size()).isEqualTo(32));
    // 257 puts over 100 keys in turn: keys 0..56 were written three times, the rest twice.
    assertThat(r.getKvs(56).getVersion()).isEqualTo(3);
    assertThat(r.getKvs(57).getVersion()).isEqualTo(2);
  }

  @Test
  void warmupRequestsAreSentFirstAndLeftOutOfTheReport() {
    int code =
        bench(
            "put",
            "--clients=4",
            "--warmup=30",
            "--total=50",
            "--key-space-size=1000",
            "--sequential-keys",
            "-w",
            "json");

    String json = out.toString().trim();
    assertThat(code).as("exit code; stderr: %s", err).isZero();
    assertThat(field(json, "warmup")).isEqualTo(30);
    assertThat(field(json, "attempted")).isEqualTo(50);
    assertThat(field(json, "ok")).isEqualTo(50);
    assertThat(err.toString()).contains("warm-up: 30 requests, 0 failed");
    // Both phases number their requests from 0: keys 0..29 were written twice, 30..49 once.
    RangeResponse r = range("00000000", "00001000");
    assertThat(r.getCount()).isEqualTo(50);
    assertThat(r.getKvs(29).getVersion()).isEqualTo(2);
    assertThat(r.getKvs(30).getVersion()).isEqualTo(1);
  }

  @Test
  void rangeWritesItsKeysThenReadsTotalTimesBothConsistencies() {
    for (String consistency : new String[] {"l", "s"}) {
      out.getBuffer().setLength(0);
      int code =
          bench(
              "range",
              "--consistency=" + consistency,
              "--conns=2",
              "--clients=5",
              "--total=300",
              "--key-size=4",
              "--key-space-size=20",
              "-w",
              "json");

      String json = out.toString().trim();
      assertThat(code).as("exit code; stderr: %s", err).isZero();
      assertThat(json).contains("\"consistency\":\"" + consistency + "\"");
      assertThat(field(json, "ok")).isEqualTo(300);
      assertThat(field(json, "failed")).isZero();
    }
    assertThat(range("0000", "0020").getCount()).isEqualTo(20);
    assertThat(range("0020", "9999").getCount()).isZero();
  }

  @Test
  void txnPutPutsTxnOpsDistinctKeysPerRequest() {
    int code =
        bench(
            "txn-put",
            "--total=20",
            "--clients=4",
            "--txn-ops=5",
            "--key-space-size=100",
            "--sequential-keys",
            "-w",
            "json");

    assertThat(code).as("exit code; stderr: %s", err).isZero();
    assertThat(field(out.toString(), "ok")).isEqualTo(20);
    // Request i puts keys 5i..5i+4: 20 requests cover the 100 keys once each, in 20 revisions.
    RangeResponse r = range("00000000", "00000100");
    assertThat(r.getCount()).isEqualTo(100);
    assertThat(r.getKvsList()).allSatisfy(kv -> assertThat(kv.getVersion()).isEqualTo(1));
    assertThat(r.getKvsList().stream().map(kv -> kv.getModRevision()).distinct()).hasSize(20);
  }

  @Test
  void textReportShowsSummaryPercentilesAndNoErrors() {
    int code = bench("put", "--total=50", "--clients=2");

    assertThat(code).isZero();
    assertThat(out.toString())
        .contains("Requests:\t50 ok, 0 failed")
        .contains("Requests/sec:")
        .contains("50% in ")
        .contains("99.9% in ")
        .doesNotContain("Error distribution");
  }

  @Test
  void failedRequestsAreCountedByStatusAndMakeTheExitCodeOne() {
    // A key space of 3 cannot give a txn 5 distinct keys: refused before any request.
    assertThat(bench("txn-put", "--txn-ops=5", "--key-space-size=3")).isEqualTo(2);
    assertThat(err.toString()).contains("--key-space-size must be at least --txn-ops");

    // A value over --max-request-bytes (default 1.5 MiB): every request fails with etcd's error.
    out.getBuffer().setLength(0);
    int code = bench("put", "--total=4", "--val-size=" + (1600 * 1024), "-w", "json");
    String json = out.toString();
    assertThat(code).isEqualTo(1);
    assertThat(field(json, "ok")).isZero();
    assertThat(field(json, "failed")).isEqualTo(4);
    assertThat(json)
        .contains("\"errors\":{\"INVALID_ARGUMENT: etcdserver: request is too large\":4}");
  }

  @Test
  void unreachableEndpointExitsTwoNamingIt() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    CommandLine cmd = new CommandLine(new Etchctl());
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    int code =
        cmd.execute(
            "bench", "put", "--total=1", "--dial-timeout=1", "--endpoints=127.0.0.1:" + port);

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("cannot connect to 127.0.0.1:" + port);
  }
}
