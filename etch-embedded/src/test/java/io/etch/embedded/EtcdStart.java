package io.etch.embedded;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The baseline for {@link StartTimeBenchmark}: the time from spawning real etcd processes (one or a
 * cluster, {@code etcd} on the PATH) until every member's {@code /health} answers {@code
 * "health":"true"} (etcd's: a leader is known).
 */
final class EtcdStart {
  private EtcdStart() {}

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(200)).build();

  static double startMillis(int members) throws Exception {
    Path dir = Files.createTempDirectory("etcd-start-");
    List<Process> procs = new ArrayList<>();
    try {
      int[] client = new int[members];
      int[] peer = new int[members];
      List<String> cluster = new ArrayList<>();
      for (int i = 0; i < members; i++) {
        client[i] = Ports.next();
        peer[i] = Ports.next();
        cluster.add("e" + i + "=http://127.0.0.1:" + peer[i]);
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < members; i++) {
        String c = "http://127.0.0.1:" + client[i];
        String p = "http://127.0.0.1:" + peer[i];
        procs.add(
            new ProcessBuilder(
                    "etcd",
                    "--name=e" + i,
                    "--data-dir=" + dir.resolve("e" + i),
                    "--listen-client-urls=" + c,
                    "--advertise-client-urls=" + c,
                    "--listen-peer-urls=" + p,
                    "--initial-advertise-peer-urls=" + p,
                    "--initial-cluster=" + String.join(",", cluster),
                    "--heartbeat-interval=" + (members == 1 ? 10 : 25),
                    "--election-timeout=" + (members == 1 ? 100 : 250))
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("e" + i + ".log").toFile())
                .start());
      }
      for (int i = 0; i < members; i++) {
        awaitHealthy(client[i], procs.get(i));
      }
      return (System.nanoTime() - t0) / 1e6;
    } finally {
      for (Process p : procs) {
        p.destroyForcibly().waitFor();
      }
      EtchCluster.deleteTree(dir);
    }
  }

  private static void awaitHealthy(int port, Process p) throws Exception {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
            .timeout(Duration.ofSeconds(1))
            .build();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IllegalStateException("etcd exited with " + p.exitValue());
      }
      try {
        HttpResponse<String> r = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && r.body().contains("\"health\":\"true\"")) {
          return;
        }
      } catch (java.io.IOException notYet) {
        // not listening yet
      }
      Thread.sleep(1);
    }
    throw new IllegalStateException("etcd on port " + port + " not healthy within 30 s");
  }
}
