package io.etch.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etch.api.authpb.Permission;
import io.etch.api.etcdserverpb.AuthEnableRequest;
import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.AuthRoleAddRequest;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etch.api.etcdserverpb.AuthUserAddRequest;
import io.etch.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etch.api.etcdserverpb.AuthUserListRequest;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.api.etcdserverpb.StatusResponse;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client TLS with certificates made in the test: {@code https://} client URLs, {@code
 * --client-cert-auth} (a verified certificate's common name is the user), and rotation of the
 * served certificate without a restart.
 */
class ClientTlsTest {
  @TempDir Path dir;
  TestCerts ca;
  Path caFile;
  TestCerts.Files2 serverCert;
  int port;
  EtchServer server;
  final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    ca = TestCerts.newCa("etch test CA");
    caFile = ca.writeCa(dir.resolve("ca.crt"));
    serverCert = ca.issue("etch server", dir, "server");
    port = TestServer.freePort();
    server =
        EtchServer.start(
            TestServer.config(
                dir.resolve("data"),
                0,
                "--listen-client-urls=https://127.0.0.1:" + port,
                "--advertise-client-urls=https://127.0.0.1:" + port,
                "--cert-file=" + serverCert.cert(),
                "--key-file=" + serverCert.key(),
                "--trusted-ca-file=" + caFile,
                "--client-cert-auth",
                "--bcrypt-cost=4"));
  }

  @AfterEach
  void stop() throws Exception {
    for (ManagedChannel c : channels) {
      TestServer.close(c);
    }
    if (server != null) {
      server.close();
    }
  }

  ManagedChannel channel(Path trusted, TestCerts.Files2 clientCert) throws Exception {
    SslContextBuilder b = GrpcSslContexts.forClient().trustManager(trusted.toFile());
    if (clientCert != null) {
      b.keyManager(clientCert.cert().toFile(), clientCert.key().toFile());
    }
    ManagedChannel c =
        NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(b.build()).build();
    channels.add(c);
    return c;
  }

  static StatusResponse status(ManagedChannel c) {
    return MaintenanceGrpc.newBlockingStub(c)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .status(StatusRequest.getDefaultInstance());
  }

  /** For calls expected to fail the handshake (a client refusing the server may retry). */
  static StatusResponse refusedStatus(ManagedChannel c) {
    return MaintenanceGrpc.newBlockingStub(c)
        .withDeadlineAfter(2, TimeUnit.SECONDS)
        .status(StatusRequest.getDefaultInstance());
  }

  static ByteString bs(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  @Test
  void aClientWithoutACertificateOrWithOneFromAnotherCaIsRefused() throws Exception {
    assertThat(status(channel(caFile, ca.issue("root", dir, "good"))).getLeader()).isNotZero();
    assertThatThrownBy(() -> status(channel(caFile, null)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    TestCerts other = TestCerts.newCa("another CA");
    assertThatThrownBy(() -> status(channel(caFile, other.issue("root", dir, "stranger"))))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    // a plaintext client cannot talk to an https URL
    ManagedChannel plain = TestServer.channel(port);
    channels.add(plain);
    assertThatThrownBy(() -> status(plain)).isInstanceOf(StatusRuntimeException.class);
  }

  @Test
  void theCertificatesCommonNameIsTheUserWhenAuthIsOn() throws Exception {
    ManagedChannel root = channel(caFile, ca.issue("root", dir, "root"));
    var auth = AuthGrpc.newBlockingStub(root);
    auth.userAdd(AuthUserAddRequest.newBuilder().setName("root").setPassword("r").build());
    auth.userGrantRole(
        AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root").build());
    auth.roleAdd(AuthRoleAddRequest.newBuilder().setName("app").build());
    auth.roleGrantPermission(
        AuthRoleGrantPermissionRequest.newBuilder()
            .setName("app")
            .setPerm(
                Permission.newBuilder()
                    .setPermType(Permission.Type.READ)
                    .setKey(bs("/app/"))
                    .setRangeEnd(bs("/app0")))
            .build());
    auth.userAdd(AuthUserAddRequest.newBuilder().setName("reader").setPassword("p").build());
    auth.userGrantRole(
        AuthUserGrantRoleRequest.newBuilder().setUser("reader").setRole("app").build());
    KVGrpc.newBlockingStub(root)
        .put(PutRequest.newBuilder().setKey(bs("/app/a")).setValue(bs("1")).build());
    auth.authEnable(AuthEnableRequest.getDefaultInstance());

    // no token: the certificate speaks for the user
    assertThat(auth.userList(AuthUserListRequest.getDefaultInstance()).getUsersList())
        .containsExactly("reader", "root");
    var reader = KVGrpc.newBlockingStub(channel(caFile, ca.issue("reader", dir, "reader")));
    assertThat(reader.range(RangeRequest.newBuilder().setKey(bs("/app/a")).build()).getCount())
        .isEqualTo(1);
    assertThatThrownBy(() -> reader.range(RangeRequest.newBuilder().setKey(bs("/other")).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription()).isEqualTo("etcdserver: permission denied");
            });
    // a certificate for a user that does not exist gets nothing
    var nobody = KVGrpc.newBlockingStub(channel(caFile, ca.issue("nobody", dir, "nobody")));
    assertThatThrownBy(() -> nobody.range(RangeRequest.newBuilder().setKey(bs("/app/a")).build()))
        .hasMessageContaining("etcdserver: permission denied");
  }

  @Test
  void tlsMinVersionAndCipherSuitesAreHonoured() throws Exception {
    server.close();
    server =
        EtchServer.start(
            TestServer.config(
                dir.resolve("data"),
                0,
                "--listen-client-urls=https://127.0.0.1:" + port,
                "--advertise-client-urls=https://127.0.0.1:" + port,
                "--cert-file=" + serverCert.cert(),
                "--key-file=" + serverCert.key(),
                "--tls-min-version=TLS1.2",
                "--cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
    // A TLS 1.2 client offering only that suite gets in; one offering only another does not.
    assertThat(status(tls12Channel("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")).getLeader())
        .isNotZero();
    assertThatThrownBy(() -> refusedStatus(tls12Channel("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")))
        .isInstanceOf(StatusRuntimeException.class);
  }

  ManagedChannel tls12Channel(String suite) throws Exception {
    ManagedChannel c =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .sslContext(
                GrpcSslContexts.forClient()
                    .trustManager(caFile.toFile())
                    .protocols("TLSv1.2")
                    .ciphers(List.of(suite))
                    .build())
            .build();
    channels.add(c);
    return c;
  }

  @Test
  void aRotatedServerCertificateIsServedWithoutRestart() throws Exception {
    TestCerts.Files2 client = ca.issue("root", dir, "client");
    // A client trusting only a new CA fails until the server's files are replaced.
    TestCerts next = TestCerts.newCa("next CA");
    Path nextCa = next.writeCa(dir.resolve("next-ca.crt"));
    assertThatThrownBy(() -> refusedStatus(channel(nextCa, client)))
        .isInstanceOf(StatusRuntimeException.class);
    TestCerts.Files2 rotated = next.issue("etch server", dir, "rotated");
    TestCerts.writeAtomically(serverCert.key(), java.nio.file.Files.readString(rotated.key()));
    TestCerts.writeAtomically(serverCert.cert(), java.nio.file.Files.readString(rotated.cert()));
    assertThat(status(channel(nextCa, client)).getLeader()).isNotZero();
    assertThatThrownBy(() -> refusedStatus(channel(caFile, client)))
        .as("the old certificate is no longer served")
        .isInstanceOf(StatusRuntimeException.class);
  }
}
