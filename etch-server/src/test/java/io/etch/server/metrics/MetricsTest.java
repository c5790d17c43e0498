package io.etch.server.metrics;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} of one member under a jetcd load: etcd's series exist with etcd's types, labels
 * and buckets (checked against a real etcd 3.4's own {@code /metrics}), and they move.
 */
class MetricsTest {
  @TempDir Path dir;

  /** The series etcd's dashboards and alerts read, with their etcd 3.4 types. */
  static final Map<String, String> ETCD_SERIES =
      Map.ofEntries(
          Map.entry("etcd_server_has_leader", "gauge"),
          Map.entry("etcd_server_is_leader", "gauge"),
          Map.entry("etcd_server_leader_changes_seen_total", "counter"),
          Map.entry("etcd_server_proposals_committed_total", "gauge"),
          Map.entry("etcd_server_proposals_applied_total", "gauge"),
          Map.entry("etcd_server_proposals_pending", "gauge"),
          Map.entry("etcd_server_proposals_failed_total", "counter"),
          Map.entry("etcd_disk_wal_fsync_duration_seconds", "histogram"),
          Map.entry("etcd_disk_backend_commit_duration_seconds", "histogram"),
          Map.entry("etcd_mvcc_db_total_size_in_bytes", "gauge"),
          Map.entry("etcd_mvcc_db_total_size_in_use_in_bytes", "gauge"),
          Map.entry("etcd_debugging_mvcc_keys_total", "gauge"),
          Map.entry("grpc_server_started_total", "counter"),
          Map.entry("grpc_server_handled_total", "counter"),
          Map.entry("process_resident_memory_bytes", "gauge"),
          Map.entry("process_cpu_seconds_total", "counter"),
          Map.entry("process_open_fds", "gauge"),
          Map.entry("process_max_fds", "gauge"),
          Map.entry("process_start_time_seconds", "gauge"),
          Map.entry("process_virtual_memory_bytes", "gauge"));

  static final Map<String, String> PUT =
      Map.of("grpc_type", "unary", "grpc_service", "etcdserverpb.KV", "grpc_method", "Put");

  /** GET /metrics on the member's client port, as Prometheus scrapes it. */
  static String scrape(EtchServer s) throws IOException {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + s.clientPort() + "/metrics"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("content-type")).contains(s.metrics().contentType());
      return r.body();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  static Map<String, String> with(Map<String, String> labels, String name, String value) {
    Map<String, String> m = new java.util.HashMap<>(labels);
    m.put(name, value);
    return m;
  }

  @Test
  void etcdSeriesExistAndMoveUnderAPutLoad() throws Exception {
    int port = TestServer.freePort();
    try (EtchServer s = TestServer.start(dir.resolve("etch"), port);
        Client c = Client.builder().endpoints("http://127.0.0.1:" + port).build()) {
      c.getKVClient().put(b("warm"), b("up")).get(10, TimeUnit.SECONDS);
      assertThat(s.metrics().contentType()).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
      PromText before = PromText.parse(scrape(s));

      int puts = 200;
      List<CompletableFuture<?>> inFlight = new ArrayList<>();
      for (int i = 0; i < puts; i++) {
        inFlight.add(c.getKVClient().put(b("k" + i), b("v" + i)));
      }
      for (CompletableFuture<?> f : inFlight) {
        f.get(30, TimeUnit.SECONDS);
      }
      c.getKVClient().get(b("k1")).get(10, TimeUnit.SECONDS);
      assertThatThrownBy(() -> c.getLeaseClient().revoke(0x1234).get(10, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasMessageContaining("requested lease not found");
      PromText after = PromText.parse(scrape(s));

      ETCD_SERIES.forEach(
          (name, type) -> assertThat(after.require(name).type()).as(name).isEqualTo(type));
      assertThat(after.require("etcd_server_has_leader").value()).isEqualTo(1);
      assertThat(after.require("etcd_server_is_leader").value()).isEqualTo(1);
      assertThat(after.require("etcd_server_leader_changes_seen_total").value()).isEqualTo(1);
      assertThat(after.require("etcd_server_proposals_pending").value()).isZero();
      assertThat(after.require("etcd_server_proposals_failed_total").value()).isZero();
      assertMovedBy(before, after, "etcd_server_proposals_committed_total", puts);
      assertMovedBy(before, after, "etcd_server_proposals_applied_total", puts);
      assertThat(after.require("etcd_debugging_mvcc_keys_total").value())
          .isGreaterThanOrEqualTo(puts + 1);
      assertThat(after.require("etcd_mvcc_db_total_size_in_bytes").value()).isPositive();
      assertThat(after.require("etcd_mvcc_db_total_size_in_use_in_bytes").value()).isPositive();
      assertThat(after.require("process_resident_memory_bytes").value()).isPositive();
      assertThat(after.require("jvm_memory_used_bytes").type()).isEqualTo("gauge");

      for (String h :
          List.of(
              "etcd_disk_wal_fsync_duration_seconds",
              "etcd_disk_backend_commit_duration_seconds")) {
        assertBuckets(after.require(h), 0.001, 14);
        // Group commit: fewer fsyncs and batches than puts, but at least one for the load.
        double moved =
            after.require(h).value(h + "_count", Map.of())
                - before.require(h).value(h + "_count", Map.of());
        assertThat(moved).as(h).isBetween(1.0, (double) puts);
        assertThat(after.require(h).value(h + "_sum", Map.of()))
            .isGreaterThan(before.require(h).value(h + "_sum", Map.of()));
        assertThat(after.require(h).value(h + "_bucket", Map.of("le", "+Inf")))
            .isEqualTo(after.require(h).value(h + "_count", Map.of()));
      }

      PromText.Family started = after.require("grpc_server_started_total");
      PromText.Family handled = after.require("grpc_server_handled_total");
      assertThat(
              started.value("grpc_server_started_total", PUT)
                  - before
                      .require("grpc_server_started_total")
                      .value("grpc_server_started_total", PUT))
          .isEqualTo(puts);
      Map<String, String> putOk = with(PUT, "grpc_code", "OK");
      assertThat(
              handled.value("grpc_server_handled_total", putOk)
                  - before
                      .require("grpc_server_handled_total")
                      .value("grpc_server_handled_total", putOk))
          .isEqualTo(puts);
      Map<String, String> revokeNotFound =
          Map.of(
              "grpc_type", "unary",
              "grpc_service", "etcdserverpb.Lease",
              "grpc_method", "LeaseRevoke",
              "grpc_code", "NotFound");
      assertThat(
              before
                  .require("grpc_server_handled_total")
                  .value("grpc_server_handled_total", revokeNotFound))
          .isZero();
      assertThat(handled.value("grpc_server_handled_total", revokeNotFound)).isEqualTo(1);
      // Every method of the client API is listed from the start with every code, as in etcd.
      assertThat(
              handled.find(
                  "grpc_server_handled_total",
                  Map.of("grpc_service", "etcdserverpb.Watch", "grpc_method", "Watch")))
          .hasSize(17)
          .allSatisfy(x -> assertThat(x.labels()).containsEntry("grpc_type", "bidi_stream"));
    }
  }

  private static void assertMovedBy(PromText before, PromText after, String name, int atLeast) {
    assertThat(after.require(name).value() - before.require(name).value())
        .as(name)
        .isGreaterThanOrEqualTo(atLeast);
  }

  /** etcd's prometheus.ExponentialBuckets(start, 2, count), then +Inf. */
  static void assertBuckets(PromText.Family h, double start, int count) {
    List<Double> bounds = new ArrayList<>();
    for (PromText.Sample s : h.samples()) {
      if (s.name().endsWith("_bucket")) {
        bounds.add(PromText.number(s.labels().get("le")));
      }
    }
    assertThat(bounds).as(h.name()).hasSize(count + 1);
    for (int i = 0; i < count; i++) {
      assertThat(bounds.get(i)).isCloseTo(start * Math.pow(2, i), within(1e-12));
    }
    assertThat(bounds.get(count)).isInfinite();
  }

  /**
   * The same series, side by side with a real etcd 3.4 on this machine: the same type, help, label
   * names, bucket bounds (as written), and for gRPC every method and code etcd lists per service.
   */
  @Test
  void namesTypesLabelsAndBucketsMatchARealEtcd() throws Exception {
    PromText etcd;
    try (Etcd e = Etcd.start(dir.resolve("etcd"))) {
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(e.clientUrl + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.headers().firstValue("content-type")).isPresent();
      etcd = PromText.parse(r.body());
    }
    int port = TestServer.freePort();
    PromText etch;
    try (EtchServer s = TestServer.start(dir.resolve("etch"), port)) {
      etch = PromText.parse(scrape(s));
    }
    for (String name : ETCD_SERIES.keySet()) {
      PromText.Family theirs = etcd.require(name);
      PromText.Family ours = etch.require(name);
      assertThat(ours.type()).as(name).isEqualTo(theirs.type());
      if (name.startsWith("etcd_") || name.startsWith("grpc_")) {
        assertThat(ours.help()).as(name).isEqualTo(theirs.help());
      }
      assertThat(labelNames(ours)).as(name).isEqualTo(labelNames(theirs));
      if (ours.type().equals("histogram")) {
        assertThat(les(ours)).as(name).isEqualTo(les(theirs));
      }
    }
    for (String service :
        List.of(
            "etcdserverpb.KV",
            "etcdserverpb.Watch",
            "etcdserverpb.Lease",
            "etcdserverpb.Cluster",
            "etcdserverpb.Maintenance",
            "etcdserverpb.Auth")) {
      for (String family : List.of("grpc_server_started_total", "grpc_server_handled_total")) {
        // etch serves etcd 3.5's API (Maintenance.Downgrade too): a superset of 3.4's methods.
        assertThat(series(etch.require(family), service))
            .as(family + " " + service)
            .containsAll(series(etcd.require(family), service));
      }
    }
  }

  private static Set<String> labelNames(PromText.Family f) {
    Set<String> out = new TreeSet<>();
    f.samples().forEach(s -> out.addAll(s.labels().keySet()));
    out.remove("le");
    return out;
  }

  private static List<String> les(PromText.Family f) {
    return f.samples().stream()
        .filter(s -> s.name().endsWith("_bucket"))
        .map(s -> s.labels().get("le"))
        .toList();
  }

  /** The label sets (without values) of one service's series. */
  private static Set<String> series(PromText.Family f, String service) {
    Set<String> out = new TreeSet<>();
    for (PromText.Sample s : f.samples()) {
      if (service.equals(s.labels().get("grpc_service"))) {
        out.add(s.labels().toString());
      }
    }
    return out;
  }

  /** A real one-member etcd on free loopback ports, stopped through its own process handle. */
  private record Etcd(String clientUrl, Process process) implements AutoCloseable {
    static Etcd start(Path dir) throws Exception {
      String bin =
          List.of("/usr/bin/etcd", "/usr/local/bin/etcd").stream()
              .filter(p -> Files.isExecutable(Path.of(p)))
              .findFirst()
              .orElseThrow(
                  () -> new AssertionError("etcd not installed (apt-get install etcd-server)"));
      int client = TestServer.freePort();
      int peer = TestServer.freePort();
      String c = "http://127.0.0.1:" + client;
      String p = "http://127.0.0.1:" + peer;
      Files.createDirectories(dir);
      Process proc =
          new ProcessBuilder(
                  bin,
                  "--name=default",
                  "--data-dir=" + dir.resolve("data"),
                  "--listen-client-urls=" + c,
                  "--advertise-client-urls=" + c,
                  "--listen-peer-urls=" + p,
                  "--initial-advertise-peer-urls=" + p,
                  "--initial-cluster=default=" + p)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("etcd.log").toFile())
              .start();
      Etcd e = new Etcd(c, proc);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        try {
          HttpResponse<String> r =
              http.send(
                  HttpRequest.newBuilder(URI.create(c + "/metrics")).build(),
                  HttpResponse.BodyHandlers.ofString());
          if (r.body().contains("etcd_server_has_leader 1")) {
            return e;
          }
        } catch (IOException notYet) {
          // starting
        }
        if (!proc.isAlive() || System.nanoTime() > deadline) {
          e.close();
          throw new IOException(
              "etcd did not start:\n" + Files.readString(dir.resolve("etcd.log")));
        }
        Thread.sleep(50);
      }
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
