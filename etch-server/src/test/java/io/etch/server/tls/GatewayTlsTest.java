package io.etch.server.tls;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd serves gRPC and its HTTP/JSON gateway (and /health, /version, /metrics) on the same TLS
 * client port; so does etch. Checked against etcd 3.4.23 by hand: {@code curl --cacert ca.crt
 * https://127.0.0.1:P/v3/kv/range -d '{"key":"Zm9v"}'} answers the range JSON and {@code /health}
 * {@code {"health":"true"}} (etch answers as etcd 3.5, with "reason"); with {@code
 * --client-cert-auth} a client without a certificate fails the handshake ("tls: client didn't
 * provide a certificate"); once auth is enabled, a gateway request from a certificate with a common
 * name is answered 400 "CommonName of client sending a request against gateway will be ignored and
 * not used as expected", one without a CN is served with a token.
 */
class GatewayTlsTest {
  @TempDir Path dir;
  TestCerts ca;
  Path caFile;
  TestCerts.Files2 serverCert;
  int port;
  EtchServer server;
  final List<Client> clients = new ArrayList<>();

  void start(String... extra) throws Exception {
    ca = TestCerts.newCa("etch test CA");
    caFile = ca.writeCa(dir.resolve("ca.crt"));
    serverCert = ca.issue("etch server", dir, "server");
    port = TestServer.freePort();
    List<String> args = new ArrayList<>();
    args.add("--listen-client-urls=https://127.0.0.1:" + port);
    args.add("--advertise-client-urls=https://127.0.0.1:" + port);
    args.add("--cert-file=" + serverCert.cert());
    args.add("--key-file=" + serverCert.key());
    args.add("--trusted-ca-file=" + caFile);
    args.add("--bcrypt-cost=4");
    args.addAll(List.of(extra));
    server =
        EtchServer.start(TestServer.config(dir.resolve("data"), 0, args.toArray(new String[0])));
  }

  @AfterEach
  void stop() throws Exception {
    for (Client c : clients) {
      c.close();
    }
    if (server != null) {
      server.close();
    }
  }

  /** The JDK's client with its defaults (HTTP/2 preferred: ALPN offers h2 and http/1.1). */
  HttpClient http(TestCerts.Files2 clientCert) throws Exception {
    return HttpClient.newBuilder()
        .sslContext(sslContext(clientCert))
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  SSLContext sslContext(TestCerts.Files2 clientCert) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", readCert(caFile));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (clientCert != null) {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry(
          "me",
          PemFiles.privateKey(clientCert.key()),
          new char[0],
          new java.security.cert.Certificate[] {readCert(clientCert.cert())});
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, new char[0]);
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  static X509Certificate readCert(Path file) throws Exception {
    try (InputStream in = Files.newInputStream(file)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  HttpResponse<String> post(HttpClient http, String path, String json, String token)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString(json));
    if (token != null) {
      b.header("Authorization", token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(HttpClient http, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  Client jetcd(TestCerts.Files2 clientCert) throws Exception {
    Client c =
        Client.builder()
            .endpoints("https://127.0.0.1:" + port)
            .sslContext(
                b -> {
                  b.trustManager(caFile.toFile());
                  if (clientCert != null) {
                    b.keyManager(clientCert.cert().toFile(), clientCert.key().toFile());
                  }
                })
            .build();
    clients.add(c);
    return c;
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(UTF_8));
  }

  static ByteSequence bs(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  @Test
  void gatewayHealthAndGrpcShareTheTlsClientPort() throws Exception {
    start();
    HttpClient http = http(null);
    Client grpc = jetcd(null);
    // gRPC writes while HTTP clients write and read on the same port
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<?> grpcLoad =
          pool.submit(
              () -> {
                for (int i = 0; i < 50; i++) {
                  grpc.getKVClient().put(bs("/grpc/" + i), bs("v" + i)).get(10, TimeUnit.SECONDS);
                }
                return null;
              });
      Future<?> httpLoad =
          pool.submit(
              () -> {
                for (int i = 0; i < 50; i++) {
                  var r =
                      post(
                          http,
                          "/v3/kv/put",
                          "{\"key\":\"" + b64("/http/" + i) + "\",\"value\":\"" + b64("h") + "\"}",
                          null);
                  assertThat(r.statusCode()).isEqualTo(200);
                }
                return null;
              });
      grpcLoad.get(60, TimeUnit.SECONDS);
      httpLoad.get(60, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }

    HttpResponse<String> put =
        post(
            http,
            "/v3/kv/put",
            "{\"key\":\"" + b64("foo") + "\",\"value\":\"" + b64("bar") + "\"}",
            null);
    assertThat(put.statusCode()).isEqualTo(200);
    // a client offering h2 and http/1.1 is given HTTP/1.1, which the gateway speaks
    assertThat(put.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    long putRevision =
        JsonParser.parseString(put.body())
            .getAsJsonObject()
            .getAsJsonObject("header")
            .get("revision")
            .getAsLong();
    assertThat(putRevision).isEqualTo(102);

    HttpResponse<String> range =
        post(http, "/v3/kv/range", "{\"key\":\"" + b64("foo") + "\"}", null);
    assertThat(range.statusCode()).isEqualTo(200);
    JsonObject body = JsonParser.parseString(range.body()).getAsJsonObject();
    assertThat(body.get("count").getAsString()).isEqualTo("1");
    JsonObject kv = body.getAsJsonArray("kvs").get(0).getAsJsonObject();
    assertThat(kv.get("key").getAsString()).isEqualTo(b64("foo"));
    assertThat(kv.get("value").getAsString()).isEqualTo(b64("bar"));
    assertThat(kv.get("create_revision").getAsString()).isEqualTo("102");
    // what HTTP wrote gRPC reads, and the other way round
    assertThat(grpc.getKVClient().get(bs("/http/7")).get(10, TimeUnit.SECONDS).getKvs())
        .singleElement()
        .satisfies(k -> assertThat(k.getValue().toString(UTF_8)).isEqualTo("h"));
    assertThat(post(http, "/v3/kv/range", "{\"key\":\"" + b64("/grpc/49") + "\"}", null).body())
        .contains("\"value\":\"" + b64("v49") + "\"");

    HttpResponse<String> health = get(http, "/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).startsWith("{\"health\":\"true\"");
    assertThat(get(http, "/version").body()).contains("\"etcdserver\":");
    assertThat(get(http, "/metrics").body()).contains("etcd_server_has_leader 1");
  }

  @Test
  void aClientWithoutAlpnIsServedByTheGatewayToo() throws Exception {
    start();
    // e.g. an old client or openssl s_client: no ALPN extension at all
    try (SSLSocket s =
        (SSLSocket) sslContext(null).getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      assertThat(s.getApplicationProtocol()).isEmpty();
      s.getOutputStream()
          .write(
              "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                  .getBytes(UTF_8));
      String reply = new String(s.getInputStream().readAllBytes(), UTF_8);
      assertThat(reply).startsWith("HTTP/1.1 200 OK\r\n").contains("{\"health\":\"true\"");
    }
  }

  @Test
  void aRotatedCertificateIsServedToTheNextHttpsConnection() throws Exception {
    start();
    HttpResponse<String> before = get(http(null), "/health");
    assertThat(before.statusCode()).isEqualTo(200);
    X509Certificate first =
        (X509Certificate) before.sslSession().orElseThrow().getPeerCertificates()[0];
    TestCerts.Files2 rotated = ca.issue("etch server", dir, "rotated");
    TestCerts.writeAtomically(serverCert.key(), Files.readString(rotated.key()));
    TestCerts.writeAtomically(serverCert.cert(), Files.readString(rotated.cert()));
    HttpResponse<String> after = get(http(null), "/health");
    assertThat(after.statusCode()).isEqualTo(200);
    X509Certificate second =
        (X509Certificate) after.sslSession().orElseThrow().getPeerCertificates()[0];
    assertThat(second.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
    assertThat(second).isEqualTo(readCert(rotated.cert()));
  }

  @Test
  void withClientCertAuthTheGatewayRefusesWhatEtcdRefuses() throws Exception {
    start("--client-cert-auth");
    // no certificate: the handshake fails, for HTTP as for gRPC
    assertThatThrownBy(() -> get(http(null), "/health")).isInstanceOf(IOException.class);
    TestCerts.Files2 root = ca.issue("root", dir, "root");
    HttpClient rootHttp = http(root);
    assertThat(get(rootHttp, "/health").body()).startsWith("{\"health\":\"true\"");
    assertThat(
            post(
                    rootHttp,
                    "/v3/kv/put",
                    "{\"key\":\"" + b64("foo") + "\",\"value\":\"" + b64("bar") + "\"}",
                    null)
                .statusCode())
        .isEqualTo(200);

    // auth on, through gRPC where the certificate's CN is the user
    Client grpcRoot = jetcd(root);
    var auth = grpcRoot.getAuthClient();
    auth.userAdd(bs("root"), bs("r")).get(10, TimeUnit.SECONDS);
    auth.userGrantRole(bs("root"), bs("root")).get(10, TimeUnit.SECONDS);
    auth.authEnable().get(10, TimeUnit.SECONDS);
    assertThat(grpcRoot.getKVClient().get(bs("foo")).get(10, TimeUnit.SECONDS).getCount())
        .isEqualTo(1);

    // the gateway: a certificate with a common name is refused, as etcd 3.4 refuses it
    HttpResponse<String> refused =
        post(rootHttp, "/v3/kv/range", "{\"key\":\"" + b64("foo") + "\"}", null);
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.headers().firstValue("content-type")).hasValue("text/plain; charset=utf-8");
    assertThat(refused.body())
        .isEqualTo(
            "CommonName of client sending a request against gateway will be ignored and not used"
                + " as expected\n");
    assertThat(get(rootHttp, "/health").statusCode()).isEqualTo(200);

    // a certificate without one authenticates with a token
    HttpClient anonymous = http(ca.issueSubject("O=etch", dir, "nocn"));
    HttpResponse<String> noUser =
        post(anonymous, "/v3/kv/range", "{\"key\":\"" + b64("foo") + "\"}", null);
    assertThat(noUser.statusCode()).isEqualTo(400);
    assertThat(noUser.body()).contains("etcdserver: user name is empty");
    String token =
        JsonParser.parseString(
                post(
                        anonymous,
                        "/v3/auth/authenticate",
                        "{\"name\":\"root\",\"password\":\"r\"}",
                        null)
                    .body())
            .getAsJsonObject()
            .get("token")
            .getAsString();
    HttpResponse<String> served =
        post(anonymous, "/v3/kv/range", "{\"key\":\"" + b64("foo") + "\"}", token);
    assertThat(served.statusCode()).isEqualTo(200);
    assertThat(served.body()).contains("\"value\":\"" + b64("bar") + "\"");
  }
}
