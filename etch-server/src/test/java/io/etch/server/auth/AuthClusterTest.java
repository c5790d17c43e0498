package io.etch.server.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.AuthUserListRequest;
import io.etch.api.etcdserverpb.AuthenticateRequest;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Auth state on three members: replicated through raft, the same everywhere, after restart too. */
class AuthClusterTest {
  @TempDir Path dir;
  final EtchServer[] members = new EtchServer[3];
  final int[] clientPorts = new int[3];
  final int[] peerPorts = new int[3];

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  EtchServer start(int i) throws Exception {
    StringBuilder cluster = new StringBuilder();
    for (int j = 0; j < 3; j++) {
      cluster.append(j > 0 ? "," : "").append("m").append(j);
      cluster.append("=http://127.0.0.1:").append(peerPorts[j]);
    }
    return EtchServer.start(
        EtchConfig.parse(
            new String[] {
              "--name=m" + i,
              "--data-dir=" + dir.resolve("m" + i),
              "--listen-client-urls=http://127.0.0.1:" + clientPorts[i],
              "--advertise-client-urls=http://127.0.0.1:" + clientPorts[i],
              "--listen-peer-urls=http://127.0.0.1:" + peerPorts[i],
              "--initial-advertise-peer-urls=http://127.0.0.1:" + peerPorts[i],
              "--initial-cluster=" + cluster,
              "--heartbeat-interval=20",
              "--election-timeout=200",
              "--bcrypt-cost=4"
            },
            Map.of()));
  }

  /** Starts the three members at once (each waits for the others to publish). */
  void startAll() throws Exception {
    var futures = new java.util.ArrayList<java.util.concurrent.Future<EtchServer>>();
    var pool = java.util.concurrent.Executors.newFixedThreadPool(3);
    try {
      for (int i = 0; i < 3; i++) {
        int n = i;
        futures.add(pool.submit(() -> start(n)));
      }
      for (int i = 0; i < 3; i++) {
        members[i] = futures.get(i).get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdown();
    }
  }

  void awaitSameApplied() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      long a = members[0].raft().appliedIndex();
      if (members[1].raft().appliedIndex() == a && members[2].raft().appliedIndex() == a) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("members did not converge");
  }

  @AfterEach
  void tearDown() {
    for (EtchServer m : members) {
      if (m != null) {
        m.close();
      }
    }
  }

  @Test
  void authStateIsTheSameOnEveryMemberAndSurvivesRestart() throws Exception {
    for (int i = 0; i < 3; i++) {
      clientPorts[i] = TestServer.freePort();
      peerPorts[i] = TestServer.freePort();
    }
    startAll();
    try (Client c = Client.builder().endpoints("http://127.0.0.1:" + clientPorts[1]).build()) {
      var auth = c.getAuthClient();
      auth.userAdd(b("root"), b("rootpw")).get(20, TimeUnit.SECONDS);
      auth.userGrantRole(b("root"), b("root")).get(20, TimeUnit.SECONDS);
      auth.roleAdd(b("app")).get(20, TimeUnit.SECONDS);
      auth.roleGrantPermission(b("app"), b("/app/"), b("/app0"), Permission.Type.READ)
          .get(20, TimeUnit.SECONDS);
      auth.userAdd(b("reader"), b("readerpw")).get(20, TimeUnit.SECONDS);
      auth.userGrantRole(b("reader"), b("app")).get(20, TimeUnit.SECONDS);
      auth.authEnable().get(20, TimeUnit.SECONDS);
    }
    awaitSameApplied();
    assertSameAuthEverywhere();
    // A token issued through one member is known to every member (each applies the same entry);
    // a member not there yet waits for it rather than refusing the token (etcd's index waiter).
    String token = authenticate(2, "reader", "readerpw");
    for (int i = 0; i < 3; i++) {
      assertThat(serializableGet(i, token, "/app/x")).as("member %d", i).isTrue();
      int member = i;
      assertThatThrownBy(() -> serializableGet(member, token, "/other"))
          .hasMessageContaining("etcdserver: permission denied");
    }
    for (int i = 0; i < 3; i++) {
      members[i].close();
      members[i] = null;
    }
    startAll();
    awaitSameApplied();
    assertSameAuthEverywhere();
    for (int i = 0; i < 3; i++) {
      String t = authenticate(i, "reader", "readerpw");
      awaitSameApplied();
      assertThat(serializableGet(i, t, "/app/x")).isTrue();
      ManagedChannel ch = TestServer.channel(clientPorts[i]);
      try {
        var users =
            AuthJetcdTest.withToken(AuthGrpc.newBlockingStub(ch), authenticate(i, "root", "rootpw"))
                .userList(AuthUserListRequest.getDefaultInstance());
        assertThat(users.getUsersList()).containsExactly("reader", "root");
      } finally {
        TestServer.close(ch);
      }
    }
  }

  private void assertSameAuthEverywhere() {
    for (int i = 0; i < 3; i++) {
      assertThat(members[i].auth().enabled()).as("member %d", i).isTrue();
      assertThat(members[i].auth().revision()).isEqualTo(members[0].auth().revision());
      // Every column family, auth included, holds the same bytes.
      assertThat(members[i].store().hash()).isEqualTo(members[0].store().hash());
    }
  }

  private String authenticate(int member, String user, String password) throws Exception {
    ManagedChannel ch = TestServer.channel(clientPorts[member]);
    try {
      return AuthGrpc.newBlockingStub(ch)
          .authenticate(
              AuthenticateRequest.newBuilder().setName(user).setPassword(password).build())
          .getToken();
    } finally {
      TestServer.close(ch);
    }
  }

  private boolean serializableGet(int member, String token, String key) throws Exception {
    ManagedChannel ch = TestServer.channel(clientPorts[member]);
    try {
      AuthJetcdTest.withToken(KVGrpc.newBlockingStub(ch), token)
          .range(
              RangeRequest.newBuilder()
                  .setKey(ByteString.copyFromUtf8(key))
                  .setSerializable(true)
                  .build());
      return true;
    } catch (StatusRuntimeException e) {
      throw new AssertionError(e.getStatus().getDescription(), e);
    } finally {
      TestServer.close(ch);
    }
  }
}
