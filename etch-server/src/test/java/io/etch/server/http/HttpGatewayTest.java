package io.etch.server.http;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd's HTTP/JSON gateway on etch's client port, next to a real etcd 3.4: the same requests go to
 * both, and status codes and JSON bodies must be equal after normalizing what differs by nature
 * (ids, terms, leases' ids). gRPC (jetcd) keeps working on the same port.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HttpGatewayTest {
  /** Differ between two clusters by nature. */
  private static final Set<String> IDS =
      Set.of("cluster_id", "member_id", "raft_term", "ID", "leader", "raftTerm");

  @TempDir static Path dir;
  static EtchServer etch;
  static String etchUrl;
  static Process etcd;
  static String etcdUrl;
  static final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  record Reply(int status, String body) {}

  @BeforeAll
  static void start() throws Exception {
    int port = TestServer.freePort();
    etch = TestServer.start(dir.resolve("etch"), port);
    etchUrl = "http://127.0.0.1:" + port;
    int cp = TestServer.freePort();
    int pp = TestServer.freePort();
    etcdUrl = "http://127.0.0.1:" + cp;
    String peer = "http://127.0.0.1:" + pp;
    etcd =
        new ProcessBuilder(
                "etcd",
                "--data-dir=" + dir.resolve("etcd"),
                "--listen-client-urls=" + etcdUrl,
                "--advertise-client-urls=" + etcdUrl,
                "--listen-peer-urls=" + peer,
                "--initial-advertise-peer-urls=" + peer,
                "--initial-cluster=default=" + peer,
                "--heartbeat-interval=10",
                "--election-timeout=100")
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("etcd.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        if (get(etcdUrl, "/health").status() == 200) {
          break;
        }
      } catch (java.io.IOException notYet) {
        // starting
      }
      assertThat(etcd.isAlive()).as(Files.readString(dir.resolve("etcd.log"))).isTrue();
      assertThat(System.nanoTime()).as("etcd did not start").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (etch != null) {
      etch.close();
    }
    if (etcd != null) {
      etcd.destroy();
      etcd.waitFor(10, TimeUnit.SECONDS);
    }
  }

  static Reply post(String base, String path, String body, String token) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", token);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), r.body());
  }

  static Reply get(String base, String path) throws Exception {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).build();
    HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), r.body());
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(UTF_8));
  }

  /** Replaces every id-like field's value, at any depth, with "*". */
  static JsonElement normalize(JsonElement e) {
    if (e.isJsonObject()) {
      JsonObject o = new JsonObject();
      for (Map.Entry<String, JsonElement> f : e.getAsJsonObject().entrySet()) {
        o.add(
            f.getKey(),
            IDS.contains(f.getKey()) ? JsonParser.parseString("\"*\"") : normalize(f.getValue()));
      }
      return o;
    }
    if (e.isJsonArray()) {
      var a = new com.google.gson.JsonArray();
      e.getAsJsonArray().forEach(x -> a.add(normalize(x)));
      return a;
    }
    return e;
  }

  static JsonElement withoutInnerHeaders(JsonElement txn) {
    for (JsonElement r : txn.getAsJsonObject().getAsJsonArray("responses")) {
      for (String k : r.getAsJsonObject().keySet()) {
        r.getAsJsonObject().getAsJsonObject(k).remove("header");
      }
    }
    return txn;
  }

  /** Sends the same request to both; status and normalized JSON body must be equal. */
  static Reply same(String path, String body) throws Exception {
    return same(path, body, null, null);
  }

  static Reply same(String path, String body, String etcdToken, String etchToken) throws Exception {
    Reply a = post(etcdUrl, path, body, etcdToken);
    Reply b = post(etchUrl, path, body, etchToken);
    assertThat(b.status()).as("%s %s: etcd %s, etch %s", path, body, a, b).isEqualTo(a.status());
    assertThat(normalize(JsonParser.parseString(b.body())))
        .as("%s %s", path, body)
        .isEqualTo(normalize(JsonParser.parseString(a.body())));
    return b;
  }

  @Test
  @Order(1)
  void kvPathsAnswerEtcdsJson() throws Exception {
    same("/v3/kv/put", "{\"key\":\"" + b64("foo") + "\",\"value\":\"" + b64("bar") + "\"}");
    same(
        "/v3/kv/put",
        "{\"key\":\"" + b64("foo2") + "\",\"value\":\"" + b64("baz") + "\",\"prev_kv\":true}");
    same(
        "/v3/kv/put",
        "{\"key\":\"" + b64("foo2") + "\",\"value\":\"" + b64("qux") + "\",\"prev_kv\":true}");
    same("/v3/kv/range", "{\"key\":\"" + b64("foo") + "\"}");
    same("/v3/kv/range", "{\"key\":\"" + b64("foo") + "\",\"range_end\":\"" + b64("fop") + "\"}");
    same(
        "/v3/kv/range",
        "{\"key\":\""
            + b64("foo")
            + "\",\"range_end\":\""
            + b64("fop")
            + "\",\"count_only\":true}");
    same("/v3/kv/range", "{\"key\":\"" + b64("nope") + "\",\"unknown_field\":1}");
    String txn =
        "{\"compare\":[{\"key\":\""
            + b64("foo")
            + "\",\"result\":\"EQUAL\",\"target\":\"VALUE\",\"value\":\""
            + b64("bar")
            + "\"}],\"success\":[{\"request_range\":{\"key\":\""
            + b64("foo")
            + "\"}},{\"request_put\":{\"key\":\""
            + b64("t")
            + "\",\"value\":\""
            + b64("1")
            + "\"}}],\"failure\":[]}";
    Reply etcdTxn = post(etcdUrl, "/v3/kv/txn", txn, null);
    Reply etchTxn = post(etchUrl, "/v3/kv/txn", txn, null);
    assertThat(etchTxn.status()).isEqualTo(etcdTxn.status()).isEqualTo(200);
    // Known difference (KvService, the same over gRPC): etcd's responses inside a txn carry a
    // header with only the revision (the range's is the revision before the txn); etch's carry the
    // whole header. Compared here without those inner headers.
    assertThat(withoutInnerHeaders(normalize(JsonParser.parseString(etchTxn.body()))))
        .isEqualTo(withoutInnerHeaders(normalize(JsonParser.parseString(etcdTxn.body()))));
    same("/v3/kv/deleterange", "{\"key\":\"" + b64("t") + "\",\"prev_kv\":true}");
    same("/v3/kv/compaction", "{\"revision\":\"3\"}");
    // errors: etcd's status code and {"error","message","code"} body
    same("/v3/kv/put", "{\"value\":\"" + b64("x") + "\"}");
    same("/v3/kv/range", "{\"key\":\"" + b64("foo") + "\",\"revision\":\"2\"}");
    same("/v3/kv/range", "{\"key\":\"" + b64("foo") + "\",\"revision\":\"1000\"}");
    Reply bad = post(etchUrl, "/v3/kv/put", "{bad", null);
    assertThat(bad.status()).isEqualTo(400);
    assertThat(JsonParser.parseString(bad.body()).getAsJsonObject().get("code").getAsInt())
        .isEqualTo(3);
    // not a gateway path; a GET on a POST path
    assertThat(post(etchUrl, "/v3/nope", "{}", null))
        .isEqualTo(post(etcdUrl, "/v3/nope", "{}", null));
    assertThat(get(etchUrl, "/v3/kv/range").status())
        .isEqualTo(get(etcdUrl, "/v3/kv/range").status());
  }

  @Test
  @Order(2)
  void leasePathsAnswerEtcdsJson() throws Exception {
    Reply etcdGrant = post(etcdUrl, "/v3/lease/grant", "{\"TTL\":\"60\"}", null);
    Reply etchGrant = post(etchUrl, "/v3/lease/grant", "{\"TTL\":\"60\"}", null);
    assertThat(normalize(JsonParser.parseString(etchGrant.body())))
        .isEqualTo(normalize(JsonParser.parseString(etcdGrant.body())));
    String etcdId =
        JsonParser.parseString(etcdGrant.body()).getAsJsonObject().get("ID").getAsString();
    String etchId =
        JsonParser.parseString(etchGrant.body()).getAsJsonObject().get("ID").getAsString();
    for (String path : List.of("/v3/lease/timetolive", "/v3/kv/lease/timetolive")) {
      Reply a = post(etcdUrl, path, "{\"ID\":\"" + etcdId + "\"}", null);
      Reply b = post(etchUrl, path, "{\"ID\":\"" + etchId + "\"}", null);
      assertThat(b.status()).isEqualTo(a.status()).isEqualTo(200);
      assertThat(JsonParser.parseString(b.body()).getAsJsonObject().keySet())
          .isEqualTo(JsonParser.parseString(a.body()).getAsJsonObject().keySet());
    }
    same("/v3/lease/leases", "{}");
    same("/v3/kv/lease/leases", "{}");
    Reply a = post(etcdUrl, "/v3/lease/keepalive", "{\"ID\":\"" + etcdId + "\"}", null);
    Reply b = post(etchUrl, "/v3/lease/keepalive", "{\"ID\":\"" + etchId + "\"}", null);
    assertThat(b.status()).isEqualTo(a.status()).isEqualTo(200);
    assertThat(b.body()).startsWith("{\"result\":").endsWith("}\n");
    assertThat(normalize(JsonParser.parseString(b.body())))
        .isEqualTo(normalize(JsonParser.parseString(a.body())));
    a = post(etcdUrl, "/v3/lease/revoke", "{\"ID\":\"" + etcdId + "\"}", null);
    b = post(etchUrl, "/v3/kv/lease/revoke", "{\"ID\":\"" + etchId + "\"}", null);
    assertThat(b.status()).isEqualTo(a.status());
    assertThat(normalize(JsonParser.parseString(b.body())))
        .isEqualTo(normalize(JsonParser.parseString(a.body())));
    same("/v3/lease/revoke", "{\"ID\":\"123\"}"); // 404, etcdserver: requested lease not found
  }

  @Test
  @Order(3)
  void watchStreamsEventsAndGrpcWorksOnTheSamePort() throws Exception {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(etchUrl + "/v3/watch"))
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"create_request\":{\"key\":\"" + b64("w") + "\"}}"))
            .build();
    HttpResponse<java.io.InputStream> resp =
        http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(resp.statusCode()).isEqualTo(200);
    try (Client jetcd = Client.builder().endpoints(etchUrl).build();
        BufferedReader lines = new BufferedReader(new InputStreamReader(resp.body(), UTF_8))) {
      JsonObject created = JsonParser.parseString(lines.readLine()).getAsJsonObject();
      assertThat(created.getAsJsonObject("result").get("created").getAsBoolean()).isTrue();
      jetcd
          .getKVClient()
          .put(ByteSequence.from("w", UTF_8), ByteSequence.from("v1", UTF_8))
          .get(10, TimeUnit.SECONDS);
      // the same write on etcd keeps both stores at the same revision for later tests
      post(
          etcdUrl,
          "/v3/kv/put",
          "{\"key\":\"" + b64("w") + "\",\"value\":\"" + b64("v1") + "\"}",
          null);
      JsonObject event = JsonParser.parseString(lines.readLine()).getAsJsonObject();
      JsonObject kv =
          event
              .getAsJsonObject("result")
              .getAsJsonArray("events")
              .get(0)
              .getAsJsonObject()
              .getAsJsonObject("kv");
      assertThat(kv.get("key").getAsString()).isEqualTo(b64("w"));
      assertThat(kv.get("value").getAsString()).isEqualTo(b64("v1"));
      assertThat(kv.get("version").getAsString()).isEqualTo("1"); // int64 as a string
      // and gRPC reads still work on the port while an HTTP stream is open on it
      assertThat(
              jetcd
                  .getKVClient()
                  .get(ByteSequence.from("w", UTF_8))
                  .get(10, TimeUnit.SECONDS)
                  .getKvs()
                  .get(0)
                  .getValue()
                  .toString(UTF_8))
          .isEqualTo("v1");
    }
  }

  @Test
  @Order(4)
  void maintenanceAndClusterPathsHaveEtcdsFields() throws Exception {
    for (String path :
        List.of(
            "/v3/maintenance/status",
            "/v3/cluster/member/list",
            "/v3/maintenance/alarm",
            "/v3/maintenance/defragment",
            "/v3/maintenance/hash")) {
      Reply a = post(etcdUrl, path, "{}", null);
      Reply b = post(etchUrl, path, "{}", null);
      assertThat(b.status()).as(path).isEqualTo(a.status()).isEqualTo(200);
      JsonObject ea = JsonParser.parseString(a.body()).getAsJsonObject();
      JsonObject eb = JsonParser.parseString(b.body()).getAsJsonObject();
      assertThat(eb.keySet()).as(path + " " + b.body()).containsAll(ea.keySet());
      assertThat(
              eb.getAsJsonObject("header").get("cluster_id").isJsonPrimitive()
                  && eb.getAsJsonObject("header").getAsJsonPrimitive("cluster_id").isString())
          .as("uint64 as a string")
          .isTrue();
    }
    Reply hash = post(etchUrl, "/v3/maintenance/hash", "{}", null);
    assertThat(
            JsonParser.parseString(hash.body())
                .getAsJsonObject()
                .getAsJsonPrimitive("hash")
                .isNumber())
        .as("uint32 as a number, as etcd")
        .isTrue();
    // a server stream: {"result":{...}} lines, or grpc-gateway's stream error line (200 either
    // way, as grpc-gateway); Snapshot may not be implemented in this branch yet
    Reply snap = post(etchUrl, "/v3/maintenance/snapshot", "{}", null);
    assertThat(snap.status()).isEqualTo(200);
    JsonObject first =
        JsonParser.parseString(snap.body().lines().findFirst().orElseThrow()).getAsJsonObject();
    if (first.has("result")) {
      assertThat(first.getAsJsonObject("result").has("blob")).isTrue();
    } else {
      assertThat(snap.body())
          .isEqualTo(
              "{\"error\":{\"grpc_code\":12,\"http_code\":501,\"message\":\"Method"
                  + " etcdserverpb.Maintenance/Snapshot is unimplemented\",\"http_status\":\"Not"
                  + " Implemented\"}}\n");
    }
    same("/v3/cluster/member/remove", "{\"ID\":\"1\"}");
  }

  @Test
  @Order(5)
  void versionAndHealth() throws Exception {
    Reply v = get(etchUrl, "/version");
    assertThat(v.status()).isEqualTo(200);
    assertThat(v.body()).isEqualTo("{\"etcdserver\":\"3.5.13\",\"etcdcluster\":\"3.5.0\"}");
    for (String path : List.of("/health", "/health?serializable=true")) {
      Reply h = get(etchUrl, path);
      assertThat(h.status()).isEqualTo(200);
      assertThat(h.body()).isEqualTo("{\"health\":\"true\",\"reason\":\"\"}");
    }
    assertThat(get(etchUrl, "/livez")).isEqualTo(new Reply(200, "ok\n"));
    assertThat(get(etchUrl, "/readyz")).isEqualTo(new Reply(200, "ok\n"));
  }

  @Test
  @Order(6)
  void authPathsAndTheAuthorizationHeader() throws Exception {
    same("/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"pw\"}");
    same("/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}");
    same("/v3/auth/user/add", "{\"name\":\"app\",\"password\":\"pw\"}");
    same("/v3/auth/role/add", "{\"name\":\"reader\"}");
    same(
        "/v3/auth/role/grant",
        "{\"name\":\"reader\",\"perm\":{\"permType\":\"READ\",\"key\":\"" + b64("foo") + "\"}}");
    same("/v3/auth/user/grant", "{\"user\":\"app\",\"role\":\"reader\"}");
    same("/v3/auth/role/get", "{\"role\":\"reader\"}");
    same("/v3/auth/user/list", "{}");
    same("/v3/auth/enable", "{}");
    try {
      List<String> tokens = new ArrayList<>();
      for (String base : List.of(etcdUrl, etchUrl)) {
        Reply t =
            post(base, "/v3/auth/authenticate", "{\"name\":\"app\",\"password\":\"pw\"}", null);
        assertThat(t.status()).isEqualTo(200);
        tokens.add(JsonParser.parseString(t.body()).getAsJsonObject().get("token").getAsString());
      }
      same("/v3/kv/range", "{\"key\":\"" + b64("foo") + "\"}"); // no token
      same("/v3/kv/range", "{\"key\":\"" + b64("foo") + "\"}", tokens.get(0), tokens.get(1));
      // permission denied: 403 and etcd's body
      same(
          "/v3/kv/put",
          "{\"key\":\"" + b64("foo") + "\",\"value\":\"eA==\"}",
          tokens.get(0),
          tokens.get(1));
      same("/v3/auth/authenticate", "{\"name\":\"app\",\"password\":\"wrong\"}");
    } finally {
      List<String> root = new ArrayList<>();
      for (String base : List.of(etcdUrl, etchUrl)) {
        Reply t =
            post(base, "/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"pw\"}", null);
        root.add(JsonParser.parseString(t.body()).getAsJsonObject().get("token").getAsString());
      }
      same("/v3/auth/disable", "{}", root.get(0), root.get(1));
    }
  }
}
