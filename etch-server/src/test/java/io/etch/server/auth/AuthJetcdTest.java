package io.etch.server.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etch.api.authpb.UserAddOptions;
import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.AuthRoleGetRequest;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etch.api.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.etch.api.etcdserverpb.AuthStatusRequest;
import io.etch.api.etcdserverpb.AuthUserAddRequest;
import io.etch.api.etcdserverpb.AuthUserChangePasswordRequest;
import io.etch.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etch.api.etcdserverpb.AuthenticateRequest;
import io.etch.api.etcdserverpb.ClusterGrpc;
import io.etch.api.etcdserverpb.HashKVRequest;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.MemberAddRequest;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchGrpc;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authentication and RBAC on a one-member etch, through jetcd (which authenticates with {@code
 * .user()/.password()} and sends the token itself) and through raw gRPC where a test needs to hold
 * a token or read the exact status.
 */
class AuthJetcdTest {
  @TempDir Path dir;
  int port;
  EtchServer server;
  ManagedChannel channel;
  Client rootClient;

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  EtchServer start() throws Exception {
    return TestServer.start(dir.resolve("data"), port, "--bcrypt-cost=4");
  }

  /**
   * root (root role), role "app" with READ on prefix /app/ and READWRITE on prefix /w/, user
   * "reader" holding it; then auth on. Set up with jetcd, without credentials, as etcdctl does.
   */
  @BeforeEach
  void setUp() throws Exception {
    port = TestServer.freePort();
    server = start();
    channel = TestServer.channel(port);
    try (Client setup = Client.builder().endpoints(url()).build()) {
      var auth = setup.getAuthClient();
      auth.userAdd(b("root"), b("rootpw")).get(10, TimeUnit.SECONDS);
      auth.userGrantRole(b("root"), b("root")).get(10, TimeUnit.SECONDS);
      auth.roleAdd(b("app")).get(10, TimeUnit.SECONDS);
      auth.roleGrantPermission(b("app"), b("/app/"), b("/app0"), Permission.Type.READ)
          .get(10, TimeUnit.SECONDS);
      auth.roleGrantPermission(b("app"), b("/w/"), b("/w0"), Permission.Type.READWRITE)
          .get(10, TimeUnit.SECONDS);
      auth.userAdd(b("reader"), b("readerpw")).get(10, TimeUnit.SECONDS);
      auth.userGrantRole(b("reader"), b("app")).get(10, TimeUnit.SECONDS);
      setup.getKVClient().put(b("/app/a"), b("1")).get(10, TimeUnit.SECONDS);
      setup.getKVClient().put(b("/other"), b("2")).get(10, TimeUnit.SECONDS);
      auth.authEnable().get(10, TimeUnit.SECONDS);
    }
    rootClient = client("root", "rootpw");
  }

  @AfterEach
  void tearDown() throws Exception {
    if (rootClient != null) {
      rootClient.close();
    }
    TestServer.close(channel);
    if (server != null) {
      server.close();
    }
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  Client client(String user, String password) {
    return Client.builder().endpoints(url()).user(b(user)).password(b(password)).build();
  }

  String token(String user, String password) {
    return AuthGrpc.newBlockingStub(channel)
        .authenticate(AuthenticateRequest.newBuilder().setName(user).setPassword(password).build())
        .getToken();
  }

  static <S extends AbstractStub<S>> S withToken(S stub, String token) {
    Metadata md = new Metadata();
    md.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
  }

  static RangeRequest get(String key) {
    return RangeRequest.newBuilder().setKey(bs(key)).build();
  }

  static void assertStatus(Runnable call, Status.Code code, String message) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).isEqualTo(message);
            });
  }

  @Test
  void aReaderOfAPrefixReadsItAndCannotWriteItOrReadAnythingElse() throws Exception {
    try (Client reader = client("reader", "readerpw")) {
      var kv = reader.getKVClient();
      assertThat(kv.get(b("/app/a")).get(10, TimeUnit.SECONDS).getKvs().get(0).getValue())
          .isEqualTo(b("1"));
      assertThat(
              kv.get(b("/app/"), GetOption.builder().isPrefix(true).build())
                  .get(10, TimeUnit.SECONDS)
                  .getCount())
          .isEqualTo(1);
      assertThatThrownBy(() -> kv.get(b("/other")).get(10, TimeUnit.SECONDS))
          .hasMessageContaining("etcdserver: permission denied");
      assertThatThrownBy(() -> kv.put(b("/app/a"), b("x")).get(10, TimeUnit.SECONDS))
          .hasMessageContaining("etcdserver: permission denied");
      // a range wider than the permission is refused though its keys are all readable
      assertThatThrownBy(
              () ->
                  kv.get(b("/"), GetOption.builder().isPrefix(true).build())
                      .get(10, TimeUnit.SECONDS))
          .hasMessageContaining("etcdserver: permission denied");
      kv.put(b("/w/1"), b("ok")).get(10, TimeUnit.SECONDS);
    }
    assertThat(rootClient.getKVClient().get(b("/app/a")).get(10, TimeUnit.SECONDS).getCount())
        .isEqualTo(1);
    assertThat(
            rootClient
                .getKVClient()
                .get(b("/w/1"))
                .get(10, TimeUnit.SECONDS)
                .getKvs()
                .get(0)
                .getValue())
        .isEqualTo(b("ok"));
  }

  @Test
  void aTxnTouchingOneForbiddenKeyInEitherBranchIsRefusedWhole() throws Exception {
    try (Client reader = client("reader", "readerpw")) {
      var kv = reader.getKVClient();
      Cmp readable = new Cmp(b("/app/a"), Cmp.Op.GREATER, CmpTarget.version(0));
      // the forbidden write sits in the branch that would not run
      assertThatThrownBy(
              () ->
                  kv.txn()
                      .If(readable)
                      .Then(Op.put(b("/w/1"), b("then"), PutOption.DEFAULT))
                      .Else(Op.put(b("/other"), b("else"), PutOption.DEFAULT))
                      .commit()
                      .get(10, TimeUnit.SECONDS))
          .hasMessageContaining("etcdserver: permission denied");
      // a forbidden compare
      assertThatThrownBy(
              () ->
                  kv.txn()
                      .If(new Cmp(b("/other"), Cmp.Op.GREATER, CmpTarget.version(0)))
                      .Then(Op.put(b("/w/1"), b("then"), PutOption.DEFAULT))
                      .commit()
                      .get(10, TimeUnit.SECONDS))
          .hasMessageContaining("etcdserver: permission denied");
      // a forbidden read nested in a txn op
      assertThatThrownBy(
              () ->
                  kv.txn()
                      .Then(
                          Op.txn(
                              new Cmp[0],
                              new Op[] {Op.get(b("/other"), GetOption.DEFAULT)},
                              new Op[] {Op.put(b("/w/2"), b("x"), PutOption.DEFAULT)}))
                      .commit()
                      .get(10, TimeUnit.SECONDS))
          .hasMessageContaining("etcdserver: permission denied");
      assertThat(rootClient.getKVClient().get(b("/w/1")).get(10, TimeUnit.SECONDS).getCount())
          .as("nothing of the refused txns was written")
          .isZero();
      // the same txn with both branches permitted runs
      assertThat(
              kv.txn()
                  .If(readable)
                  .Then(Op.put(b("/w/1"), b("then"), PutOption.DEFAULT))
                  .Else(Op.get(b("/app/a"), GetOption.DEFAULT))
                  .commit()
                  .get(10, TimeUnit.SECONDS)
                  .isSucceeded())
          .isTrue();
    }
  }

  @Test
  void aWatchOnAForbiddenRangeIsCanceledAtCreate() throws Exception {
    String token = token("reader", "readerpw");
    BlockingQueue<WatchResponse> got = new LinkedBlockingQueue<>();
    StreamObserver<WatchRequest> req =
        withToken(WatchGrpc.newStub(channel), token)
            .watch(
                new StreamObserver<>() {
                  @Override
                  public void onNext(WatchResponse r) {
                    got.add(r);
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                });
    req.onNext(
        WatchRequest.newBuilder()
            .setCreateRequest(WatchCreateRequest.newBuilder().setKey(bs("/other")))
            .build());
    WatchResponse refused = got.poll(10, TimeUnit.SECONDS);
    assertThat(refused).isNotNull();
    assertThat(refused.getCreated()).isTrue();
    assertThat(refused.getCanceled()).isTrue();
    assertThat(refused.getWatchId()).isEqualTo(-1);
    assertThat(refused.getCancelReason())
        .isEqualTo("rpc error: code = PermissionDenied desc = etcdserver: permission denied");
    req.onNext(
        WatchRequest.newBuilder()
            .setCreateRequest(WatchCreateRequest.newBuilder().setKey(bs("/app/a")))
            .build());
    WatchResponse created = got.poll(10, TimeUnit.SECONDS);
    assertThat(created.getCreated()).isTrue();
    assertThat(created.getCanceled()).isFalse();
    req.onCompleted();
  }

  @Test
  void aPermissionChangeAppliesToExistingTokensAndAPasswordChangeInvalidatesThem() {
    String token = token("reader", "readerpw");
    var kv = withToken(KVGrpc.newBlockingStub(channel), token);
    assertThat(kv.range(get("/app/a")).getCount()).isEqualTo(1);
    String root = token("root", "rootpw");
    var rootAuth = withToken(AuthGrpc.newBlockingStub(channel), root);
    long before = rootAuth.authStatus(AuthStatusRequest.getDefaultInstance()).getAuthRevision();
    rootAuth.roleRevokePermission(
        AuthRoleRevokePermissionRequest.newBuilder()
            .setRole("app")
            .setKey(bs("/app/"))
            .setRangeEnd(bs("/app0"))
            .build());
    assertThat(rootAuth.authStatus(AuthStatusRequest.getDefaultInstance()).getAuthRevision())
        .isEqualTo(before + 1);
    assertStatus(
        () -> kv.range(get("/app/a")),
        Status.Code.PERMISSION_DENIED,
        "etcdserver: permission denied");
    rootAuth.userChangePassword(
        AuthUserChangePasswordRequest.newBuilder().setName("reader").setPassword("new").build());
    assertStatus(
        () -> kv.range(get("/w/x")), Status.Code.UNAUTHENTICATED, "etcdserver: invalid auth token");
    assertThat(
            withToken(KVGrpc.newBlockingStub(channel), token("reader", "new")).range(get("/w/x")))
        .isNotNull();
    assertStatus(
        () -> token("reader", "readerpw"),
        Status.Code.INVALID_ARGUMENT,
        "etcdserver: authentication failed, invalid user ID or password");
  }

  @Test
  void restartKeepsUsersRolesAndAuthButNotTokens() throws Exception {
    String token = token("reader", "readerpw");
    String root = token("root", "rootpw");
    long revision =
        withToken(AuthGrpc.newBlockingStub(channel), root)
            .authStatus(AuthStatusRequest.getDefaultInstance())
            .getAuthRevision();
    rootClient.close();
    rootClient = null;
    TestServer.close(channel);
    server.close();
    server = start();
    channel = TestServer.channel(port);
    // tokens live in memory only, as etcd's simple tokens
    assertStatus(
        () -> withToken(KVGrpc.newBlockingStub(channel), token).range(get("/app/a")),
        Status.Code.UNAUTHENTICATED,
        "etcdserver: invalid auth token");
    assertStatus(
        () -> KVGrpc.newBlockingStub(channel).range(get("/app/a")),
        Status.Code.INVALID_ARGUMENT,
        "etcdserver: user name is empty");
    var rootAuth = withToken(AuthGrpc.newBlockingStub(channel), token("root", "rootpw"));
    var status = rootAuth.authStatus(AuthStatusRequest.getDefaultInstance());
    assertThat(status.getEnabled()).isTrue();
    assertThat(status.getAuthRevision()).isEqualTo(revision);
    assertThat(
            rootAuth.roleGet(AuthRoleGetRequest.newBuilder().setRole("app").build()).getPermCount())
        .isEqualTo(2);
    try (Client reader = client("reader", "readerpw")) {
      assertThat(reader.getKVClient().get(b("/app/a")).get(10, TimeUnit.SECONDS).getCount())
          .isEqualTo(1);
      assertThatThrownBy(() -> reader.getKVClient().get(b("/other")).get(10, TimeUnit.SECONDS))
          .hasMessageContaining("etcdserver: permission denied");
    }
  }

  @Test
  void badInputGetsEtcdErrorsAndChangesNothing() {
    var rootAuth = withToken(AuthGrpc.newBlockingStub(channel), token("root", "rootpw"));
    long before = rootAuth.authStatus(AuthStatusRequest.getDefaultInstance()).getAuthRevision();
    assertStatus(
        () ->
            rootAuth.userAdd(AuthUserAddRequest.newBuilder().setName("").setPassword("x").build()),
        Status.Code.INVALID_ARGUMENT,
        "etcdserver: user name is empty");
    assertStatus(
        () ->
            rootAuth.userAdd(
                AuthUserAddRequest.newBuilder()
                    .setName("long")
                    .setPassword("p".repeat(73))
                    .build()),
        Status.Code.UNKNOWN,
        "bcrypt: password length exceeds 72 bytes");
    assertStatus(
        () ->
            rootAuth.userGrantRole(
                AuthUserGrantRoleRequest.newBuilder().setUser("reader").setRole("nope").build()),
        Status.Code.FAILED_PRECONDITION,
        "etcdserver: role name not found");
    assertStatus(
        () ->
            rootAuth.roleGrantPermission(
                AuthRoleGrantPermissionRequest.newBuilder()
                    .setName("app")
                    .setPerm(
                        io.etch.api.authpb.Permission.newBuilder()
                            .setKey(bs("b"))
                            .setRangeEnd(bs("a")))
                    .build()),
        Status.Code.INVALID_ARGUMENT,
        "etcdserver: invalid auth management");
    assertStatus(
        () ->
            rootAuth.roleGrantPermission(
                AuthRoleGrantPermissionRequest.newBuilder().setName("app").build()),
        Status.Code.INVALID_ARGUMENT,
        "etcdserver: permission not given");
    assertStatus(
        () -> withToken(KVGrpc.newBlockingStub(channel), "garbage").range(get("/app/a")),
        Status.Code.UNAUTHENTICATED,
        "etcdserver: invalid auth token");
    assertStatus(
        () -> withToken(KVGrpc.newBlockingStub(channel), "").range(get("/app/a")),
        Status.Code.UNAUTHENTICATED,
        "etcdserver: invalid auth token");
    assertStatus(
        () ->
            AuthGrpc.newBlockingStub(channel)
                .authenticate(
                    AuthenticateRequest.newBuilder()
                        .setName("x".repeat(10_000))
                        .setPassword("y")
                        .build()),
        Status.Code.INVALID_ARGUMENT,
        "etcdserver: authentication failed, invalid user ID or password");
    assertThat(rootAuth.authStatus(AuthStatusRequest.getDefaultInstance()).getAuthRevision())
        .as("no refused request changed the auth store")
        .isEqualTo(before);
    assertThat(
            rootAuth.roleGet(AuthRoleGetRequest.newBuilder().setRole("app").build()).getPermCount())
        .isEqualTo(2);
  }

  @Test
  void leasesHoldingForbiddenKeysCannotBeRevokedOrReused() {
    String reader = token("reader", "readerpw");
    var leases = withToken(LeaseGrpc.newBlockingStub(channel), reader);
    long id = leases.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build()).getID();
    String root = token("root", "rootpw");
    withToken(KVGrpc.newBlockingStub(channel), root)
        .put(PutRequest.newBuilder().setKey(bs("/other")).setValue(bs("v")).setLease(id).build());
    assertStatus(
        () -> leases.leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build()),
        Status.Code.PERMISSION_DENIED,
        "etcdserver: permission denied");
    // attaching the lease to a key the reader may write is refused too: it could not revoke it
    assertStatus(
        () ->
            withToken(KVGrpc.newBlockingStub(channel), reader)
                .put(PutRequest.newBuilder().setKey(bs("/w/1")).setLease(id).build()),
        Status.Code.PERMISSION_DENIED,
        "etcdserver: permission denied");
    withToken(LeaseGrpc.newBlockingStub(channel), root)
        .leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build());
  }

  @Test
  void adminCallsAreForRootOnly() {
    String reader = token("reader", "readerpw");
    // etcd answers Maintenance's root-only calls with its auth error unmapped
    assertStatus(
        () ->
            withToken(MaintenanceGrpc.newBlockingStub(channel), reader)
                .hashKV(HashKVRequest.getDefaultInstance()),
        Status.Code.UNKNOWN,
        "auth: permission denied");
    assertThat(
            withToken(MaintenanceGrpc.newBlockingStub(channel), reader)
                .status(StatusRequest.getDefaultInstance())
                .getLeader())
        .isNotZero();
    assertStatus(
        () ->
            withToken(ClusterGrpc.newBlockingStub(channel), reader)
                .memberAdd(MemberAddRequest.newBuilder().addPeerURLs("http://127.0.0.1:1").build()),
        Status.Code.PERMISSION_DENIED,
        "etcdserver: permission denied");
    assertStatus(
        () ->
            withToken(AuthGrpc.newBlockingStub(channel), reader)
                .userAdd(
                    AuthUserAddRequest.newBuilder()
                        .setName("x")
                        .setOptions(UserAddOptions.newBuilder().setNoPassword(true))
                        .build()),
        Status.Code.PERMISSION_DENIED,
        "etcdserver: permission denied");
    assertThat(
            withToken(MaintenanceGrpc.newBlockingStub(channel), token("root", "rootpw"))
                .hashKV(HashKVRequest.getDefaultInstance())
                .getHeader()
                .getRevision())
        .isPositive();
  }
}
