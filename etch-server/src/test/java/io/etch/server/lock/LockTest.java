package io.etch.server.lock;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.etch.api.v3lockpb.LockGrpc;
import io.etch.api.v3lockpb.LockRequest;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Lock service against real clients: etcdctl processes and jetcd, over real sockets. */
class LockTest {
  @TempDir Path dir;
  EtchServer server;
  String url;
  Client client;

  @BeforeEach
  void start() throws Exception {
    int port = TestServer.freePort();
    server = TestServer.start(dir.resolve("data"), port);
    url = "http://127.0.0.1:" + port;
    client = Client.builder().endpoints(url).build();
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  static void append(Path log, String line) throws Exception {
    Files.writeString(
        log, line + "\n", UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /**
   * Two etcdctl processes (exec form) and two jetcd clients take the same lock three times each;
   * each holder appends "start id" then "end id" to one log: the log must alternate start/end of
   * the same holder, twelve times (at most one holder at any moment).
   */
  @Test
  void etcdctlAndJetcdContendersNeverHoldTheLockTogether() throws Exception {
    Path log = dir.resolve("holders.log");
    Files.createFile(log);
    int rounds = 3;
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      String id = "etcdctl" + i;
      all.add(
          CompletableFuture.runAsync(
              () -> {
                try {
                  for (int r = 0; r < rounds; r++) {
                    Process p =
                        Procs.etcdctl(
                            url,
                            null,
                            "lock",
                            "shared",
                            "--",
                            "sh",
                            "-c",
                            "echo \"start $1\" >> \"$2\"; sleep 0.2; echo \"end $1\" >> \"$2\"",
                            "sh",
                            id,
                            log.toString());
                    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                    assertThat(p.exitValue()).isZero();
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    for (int i = 0; i < 2; i++) {
      String id = "jetcd" + i;
      all.add(
          CompletableFuture.runAsync(
              () -> {
                try (Client c = Client.builder().endpoints(url).build()) {
                  for (int r = 0; r < rounds; r++) {
                    long lease = c.getLeaseClient().grant(30).get().getID();
                    ByteSequence key =
                        c.getLockClient()
                            .lock(b("shared"), lease)
                            .get(60, TimeUnit.SECONDS)
                            .getKey();
                    assertThat(key.toString(UTF_8)).isEqualTo("shared/" + Long.toHexString(lease));
                    append(log, "start " + id);
                    Thread.sleep(200);
                    append(log, "end " + id);
                    c.getLockClient().unlock(key).get();
                    c.getLeaseClient().revoke(lease).get();
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).get(120, TimeUnit.SECONDS);
    List<String> lines = Files.readAllLines(log);
    assertThat(lines).hasSize(4 * rounds * 2);
    for (int i = 0; i < lines.size(); i += 2) {
      assertThat(lines.get(i)).as("line %d of %s", i, lines).startsWith("start ");
      assertThat(lines.get(i + 1))
          .as("line %d of %s", i + 1, lines)
          .isEqualTo("end " + lines.get(i).substring("start ".length()));
    }
    assertThat(
            client
                .getKVClient()
                .get(b("shared/"), GetOption.builder().isPrefix(true).build())
                .get()
                .getCount())
        .as("no lock key left behind")
        .isZero();
  }

  /**
   * An etcdctl holder killed with SIGKILL keeps the lock until its session lease (TTL 2 s) expires;
   * then the jetcd waiter queued behind it gets the lock.
   */
  @Test
  void aHolderKilledWithSigkillReleasesTheLockWhenItsLeaseExpires() throws Exception {
    Path out = dir.resolve("holder.out");
    Process holder =
        Procs.etcdctl(
            url, out, "lock", "--ttl=2", "victim", "--", "sh", "-c", "echo held; exec sleep 60");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!Files.readString(out).contains("held")) {
      assertThat(System.nanoTime()).as("etcdctl took the lock").isLessThan(deadline);
      Thread.sleep(20);
    }
    long lease = client.getLeaseClient().grant(30).get().getID();
    CompletableFuture<io.etcd.jetcd.lock.LockResponse> waiter =
        client.getLockClient().lock(b("victim"), lease);
    Thread.sleep(300);
    assertThat(waiter).as("the waiter waits while the holder lives").isNotDone();
    long killed = System.nanoTime();
    Procs.killHard(holder);
    io.etcd.jetcd.lock.LockResponse got = waiter.get(10, TimeUnit.SECONDS);
    long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
    assertThat(got.getKey().toString(UTF_8)).isEqualTo("victim/" + Long.toHexString(lease));
    // etcdctl keeps its lease alive every TTL/3: at least ~1.3 s were left when it died.
    assertThat(waitedMs).as("released by lease expiry, not at once").isGreaterThan(1000);
    assertThat(waitedMs).as("released about when the TTL ran out").isLessThan(8000);
  }

  /**
   * The Jepsen rule: a waiter whose lease is revoked while it waits is not told it holds the lock
   * when its predecessor releases (etcd 3.4.3 answered it as owner).
   */
  @Test
  void aWaiterWhoseLeaseEndedIsNotToldItHoldsTheLock() throws Exception {
    long first = client.getLeaseClient().grant(30).get().getID();
    long second = client.getLeaseClient().grant(30).get().getID();
    ByteSequence held = client.getLockClient().lock(b("jepsen"), first).get().getKey();
    CompletableFuture<io.etcd.jetcd.lock.LockResponse> waiter =
        client.getLockClient().lock(b("jepsen"), second);
    Thread.sleep(200);
    client.getLeaseClient().revoke(second).get();
    client.getLockClient().unlock(held).get();
    assertThatThrownBy(() -> waiter.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("mutex: session is expired");
  }

  /** A client that gives up waiting (deadline) takes its key out of the queue, as etcd does. */
  @Test
  void aCanceledLockCallDeletesTheWaitersKey() throws Exception {
    long first = client.getLeaseClient().grant(30).get().getID();
    long second = client.getLeaseClient().grant(30).get().getID();
    client.getLockClient().lock(b("cancel"), first).get();
    ManagedChannel ch = TestServer.channel(server.clientPort());
    try {
      assertThatThrownBy(
              () ->
                  LockGrpc.newBlockingStub(ch)
                      .withDeadlineAfter(500, TimeUnit.MILLISECONDS)
                      .lock(
                          LockRequest.newBuilder()
                              .setName(com.google.protobuf.ByteString.copyFromUtf8("cancel"))
                              .setLease(second)
                              .build()))
          .isInstanceOf(StatusRuntimeException.class)
          .matches(
              e ->
                  ((StatusRuntimeException) e).getStatus().getCode()
                      == Status.Code.DEADLINE_EXCEEDED);
    } finally {
      TestServer.close(ch);
    }
    ByteSequence waiterKey = b("cancel/" + Long.toHexString(second));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (client.getKVClient().get(waiterKey).get().getCount() != 0) {
      assertThat(System.nanoTime()).as("the waiter's key is deleted").isLessThan(deadline);
      Thread.sleep(20);
    }
    assertThat(client.getKVClient().get(b("cancel/" + Long.toHexString(first))).get().getCount())
        .as("the holder keeps the lock")
        .isEqualTo(1);
  }

  /** The holder's key carries the fencing token: its create revision, as the header's revision. */
  @Test
  void theLockKeysCreateRevisionIsTheFencingToken() throws Exception {
    long a = client.getLeaseClient().grant(30).get().getID();
    long bLease = client.getLeaseClient().grant(30).get().getID();
    var first = client.getLockClient().lock(b("fence"), a).get();
    long rev1 = client.getKVClient().get(first.getKey()).get().getKvs().get(0).getCreateRevision();
    assertThat(first.getHeader().getRevision()).isEqualTo(rev1);
    var second = client.getLockClient().lock(b("fence"), bLease);
    client.getLockClient().unlock(first.getKey()).get();
    var got = second.get(10, TimeUnit.SECONDS);
    long rev2 = client.getKVClient().get(got.getKey()).get().getKvs().get(0).getCreateRevision();
    assertThat(rev2).isGreaterThan(rev1);
    // Locking again with the same lease is the same acquisition (same key, same token).
    var again = client.getLockClient().lock(b("fence"), bLease).get(5, TimeUnit.SECONDS);
    assertThat(again.getKey()).isEqualTo(got.getKey());
  }

  /** Without a lease, as etcd's server-side session: the lock runs under a new 60 s lease. */
  @Test
  void aLockWithoutALeaseHoldsItUnderAFreshSixtySecondLease() throws Exception {
    ManagedChannel ch = TestServer.channel(server.clientPort());
    try {
      var r =
          LockGrpc.newBlockingStub(ch)
              .withDeadlineAfter(5, TimeUnit.SECONDS)
              .lock(
                  LockRequest.newBuilder()
                      .setName(com.google.protobuf.ByteString.copyFromUtf8("nolease"))
                      .build());
      String key = r.getKey().toStringUtf8();
      assertThat(key).startsWith("nolease/").isNotEqualTo("nolease/0");
      long lease = Long.parseUnsignedLong(key.substring("nolease/".length()), 16);
      var ttl =
          client
              .getLeaseClient()
              .timeToLive(lease, io.etcd.jetcd.options.LeaseOption.DEFAULT)
              .get();
      assertThat(ttl.getGrantedTTL()).isEqualTo(60);
      assertThat(client.getKVClient().get(b(key)).get().getKvs().get(0).getLease())
          .isEqualTo(lease);
    } finally {
      TestServer.close(ch);
    }
  }
}
