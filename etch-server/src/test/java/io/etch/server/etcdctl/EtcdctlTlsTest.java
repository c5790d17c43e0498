package io.etch.server.etcdctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import io.etch.server.tls.TestCerts;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcdctl over TLS ({@code --cacert --cert --key}) against etch with --client-cert-auth. */
class EtcdctlTlsTest {
  @TempDir Path dir;

  @Test
  void etcdctlWithAClientCertificateIsServedAndWithoutOneIsRefused() throws Exception {
    TestCerts ca = TestCerts.newCa("etcdctl test CA");
    Path caFile = ca.writeCa(dir.resolve("ca.crt"));
    TestCerts.Files2 server = ca.issue("etch", dir, "server");
    TestCerts.Files2 client = ca.issue("root", dir, "client");
    int port = TestServer.freePort();
    String url = "https://127.0.0.1:" + port;
    try (EtchServer etch =
        EtchServer.start(
            TestServer.config(
                dir.resolve("data"),
                port,
                "--listen-client-urls=" + url,
                "--advertise-client-urls=" + url,
                "--cert-file=" + server.cert(),
                "--key-file=" + server.key(),
                "--trusted-ca-file=" + caFile,
                "--client-cert-auth=true"))) {
      List<String> tls =
          List.of("--cacert=" + caFile, "--cert=" + client.cert(), "--key=" + client.key());
      Etcdctl.Result put = Etcdctl.run(url, null, concat(tls, List.of("put", "k", "v")));
      assertThat(put.exit()).as(put.toString()).isZero();
      assertThat(put.out()).isEqualTo("OK\n");
      Etcdctl.Result get = Etcdctl.run(url, null, concat(tls, List.of("get", "k")));
      assertThat(get.out()).isEqualTo("k\nv\n");
      Etcdctl.Result noCert =
          Etcdctl.run(url, null, List.of("--cacert=" + caFile, "--command-timeout=2s", "get", "k"));
      assertThat(noCert.exit()).isNotZero();
    }
  }

  @Test
  void autoTlsServesASelfSignedCertificateThatClientsSkipVerifying() throws Exception {
    int port = TestServer.freePort();
    String url = "https://127.0.0.1:" + port;
    try (EtchServer etch =
        EtchServer.start(
            TestServer.config(
                dir.resolve("data"),
                port,
                "--listen-client-urls=" + url,
                "--advertise-client-urls=" + url,
                "--auto-tls"))) {
      Etcdctl.Result put =
          Etcdctl.run(
              url,
              null,
              List.of("--insecure-transport=false", "--insecure-skip-tls-verify", "put", "k", "v"));
      assertThat(put.out()).as(put.toString()).isEqualTo("OK\n");
      Etcdctl.Result verified =
          Etcdctl.run(
              url, null, List.of("--insecure-transport=false", "--command-timeout=2s", "get", "k"));
      assertThat(verified.exit())
          .as("a client that verifies refuses the self-signed certificate")
          .isNotZero();
      assertThat(dir.resolve("data/fixtures/client/cert.pem")).exists();
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new java.util.ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
