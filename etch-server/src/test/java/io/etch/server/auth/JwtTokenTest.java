package io.etch.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etch.api.authpb.Permission;
import io.etch.api.etcdserverpb.AuthEnableRequest;
import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.AuthRoleAddRequest;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etch.api.etcdserverpb.AuthUserAddRequest;
import io.etch.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etch.api.etcdserverpb.AuthenticateRequest;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Base64;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code --auth-token jwt,...}: signed tokens that carry the auth revision they were issued at. */
class JwtTokenTest {
  @TempDir Path dir;

  static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  @ParameterizedTest
  @CsvSource({"RSA, 2048, RS256", "EC, 256, ES256"})
  void aTokenIssuedBeforeAPermissionChangeIsRefusedAsStale(String keyType, int bits, String method)
      throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance(keyType);
    g.initialize(bits);
    KeyPair kp = g.generateKeyPair();
    Path pub =
        Files.writeString(dir.resolve("pub.pem"), pem("PUBLIC KEY", kp.getPublic().getEncoded()));
    Path priv =
        Files.writeString(
            dir.resolve("priv.pem"), pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
    int port = TestServer.freePort();
    try (EtchServer server =
        TestServer.start(
            dir.resolve("data"),
            port,
            "--bcrypt-cost=4",
            "--auth-token=jwt,pub-key=" + pub + ",priv-key=" + priv + ",sign-method=" + method)) {
      ManagedChannel ch = TestServer.channel(port);
      try {
        var auth = AuthGrpc.newBlockingStub(ch);
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
        auth.authEnable(AuthEnableRequest.getDefaultInstance());

        String token =
            auth.authenticate(
                    AuthenticateRequest.newBuilder().setName("reader").setPassword("p").build())
                .getToken();
        assertThat(token.split("\\.")).as("a JWT: header.claims.signature").hasSize(3);
        var kv = AuthJetcdTest.withToken(KVGrpc.newBlockingStub(ch), token);
        RangeRequest get = RangeRequest.newBuilder().setKey(bs("/app/a")).build();
        assertThat(kv.range(get).getCount()).isZero();

        String root =
            auth.authenticate(
                    AuthenticateRequest.newBuilder().setName("root").setPassword("r").build())
                .getToken();
        AuthJetcdTest.withToken(AuthGrpc.newBlockingStub(ch), root)
            .roleAdd(AuthRoleAddRequest.newBuilder().setName("other").build());
        AuthJetcdTest.assertStatus(
            () -> kv.range(get),
            Status.Code.INVALID_ARGUMENT,
            "etcdserver: revision of auth store is old");
        String fresh =
            auth.authenticate(
                    AuthenticateRequest.newBuilder().setName("reader").setPassword("p").build())
                .getToken();
        assertThat(AuthJetcdTest.withToken(KVGrpc.newBlockingStub(ch), fresh).range(get).getCount())
            .isZero();

        // a token whose claims were altered no longer verifies
        String[] parts = fresh.split("\\.");
        String forged =
            parts[0]
                + "."
                + Base64.getUrlEncoder()
                    .withoutPadding()
                    .encodeToString(
                        new String(Base64.getUrlDecoder().decode(parts[1]))
                            .replace("reader", "root")
                            .getBytes())
                + "."
                + parts[2];
        AuthJetcdTest.assertStatus(
            () -> AuthJetcdTest.withToken(KVGrpc.newBlockingStub(ch), forged).range(get),
            Status.Code.UNAUTHENTICATED,
            "etcdserver: invalid auth token");
      } finally {
        TestServer.close(ch);
      }
    }
  }
}
