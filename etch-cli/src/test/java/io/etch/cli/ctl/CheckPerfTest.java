package io.etch.cli.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.cli.Etchctl;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code etchctl check perf} against a real one-member etch over a socket, shortened to 4 s. */
class CheckPerfTest {
  @TempDir Path dir;

  record Result(int exit, String out, String err) {}

  static Result run(String endpoint, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Etchctl.run(
            Map.of("ETCDCTL_ENDPOINTS", endpoint, CheckCommands.SECONDS_ENV, "4"),
            new ByteArrayInputStream(new byte[0]),
            out,
            err,
            args);
    return new Result(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void checkPerfWritesUnderThePrefixJudgesAndCleansUp() throws Exception {
    String ep = "127.0.0.1:" + RealEtcd.freePort();
    try (EtchServer server = startEtch(dir.resolve("etch"), ep)) {
      assertThat(run(ep, "put", "/other", "kept").exit()).isZero();
      Result r = run(ep, "check", "perf", "--load=s", "--auto-compact", "--auto-defrag");
      // The progress line is redrawn with \r and ends with a newline; the report follows it.
      String out = r.out();
      assertThat(out)
          .startsWith("\r 0 / 4     0.00% 00m04s")
          .contains("\r 4 / 4   100.00% 00m00s\n");
      String report = out.substring(out.lastIndexOf('\r'));
      report = report.substring(report.indexOf('\n') + 1);
      assertThat(report)
          .matches(
              "Compacting with revision (\\d+)\n"
                  + "Compacted with revision \\1\n"
                  + "Defragmenting \""
                  + ep
                  + "\"\n"
                  + "Defragmented \""
                  + ep
                  + "\"\n"
                  + "(PASS: Throughput is \\d+ writes/s|FAIL: Throughput too low: \\d+ writes/s)\n"
                  + "(PASS: Slowest request took|Slowest request took too long:) \\d+\\.\\d{6}s\n"
                  + "(PASS: Stddev is|Stddev too high:) \\d+\\.\\d{6}s\n"
                  + "(PASS|FAIL)\n");
      // 150 writes/s for 4 s from 50 clients is light work for a local member.
      assertThat(report).endsWith("\nPASS\n");
      assertThat(r.exit()).isZero();
      assertThat(r.err()).isEmpty();
      int throughput =
          Integer.parseInt(report.replaceAll("(?s).*Throughput is (\\d+) writes/s.*", "$1"));
      assertThat(throughput).isBetween(136, 160);

      // The prefix is gone, the other key is not, and history up to the deletion is compacted.
      assertThat(
              run(ep, "get", "--prefix", "/etcdctl-check-perf/", "--count-only", "-w", "fields")
                  .out())
          .contains("\"Count\" : 0\n");
      assertThat(run(ep, "get", "--prefix", "", "--keys-only").out()).isEqualTo("/other\n\n");
      assertThat(run(ep, "get", "/other", "--rev=1").err())
          .isEqualTo("Error: etcdserver: mvcc: required revision has been compacted\n");
    }
  }

  @Test
  void checkPerfRefusesAPrefixWithKeysAndAnUnknownLoad() throws Exception {
    String ep = "127.0.0.1:" + RealEtcd.freePort();
    try (EtchServer server = startEtch(dir.resolve("etch"), ep)) {
      assertThat(run(ep, "put", "/p/x", "1").exit()).isZero();
      assertThat(run(ep, "check", "perf", "--prefix", "/p/"))
          .isEqualTo(
              new Result(
                  3,
                  "",
                  "Error: prefix \"/p/\" has keys. Delete with etcdctl del --prefix /p/ first\n"));
      assertThat(run(ep, "get", "/p/x", "--print-value-only").out()).isEqualTo("1\n");
      assertThat(run(ep, "check", "perf", "--load", "huge"))
          .isEqualTo(new Result(4, "", "Error: unknown load option huge\n"));
    }
  }

  private static EtchServer startEtch(Path dataDir, String ep) throws Exception {
    return EtchServer.start(
        EtchConfig.parse(
            new String[] {
              "--data-dir=" + dataDir,
              "--listen-client-urls=http://" + ep,
              "--advertise-client-urls=http://" + ep,
              "--listen-peer-urls=http://127.0.0.1:" + RealEtcd.freePort(),
              "--heartbeat-interval=10",
              "--election-timeout=100"
            },
            Map.of()));
  }
}
