package io.etch.server.election;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Election;
import io.etcd.jetcd.election.CampaignResponse;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.election.LeaderResponse;
import io.etch.server.EtchServer;
import io.etch.server.lock.Procs;
import io.etch.server.maintenance.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Election service against jetcd (in this JVM and in a child JVM) and etcdctl processes, over
 * real sockets. jetcd maps etcd's "election: not leader" and "election: no leader" to
 * NotLeaderException and NoLeaderException (the exact texts and codes are compared with etcd in
 * LockElectCompatTest).
 */
class ElectionTest {
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
  Path dir;

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

  static void await(BooleanSupplier cond, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!cond.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  static boolean contains(Path p, String s) {
    try {
      return Files.exists(p) && Files.readString(p).contains(s);
    } catch (java.io.IOException e) {
      return false;
    }
  }

  long keys(String prefix) {
    try {
      return client
          .getKVClient()
          .get(b(prefix), io.etcd.jetcd.options.GetOption.builder().isPrefix(true).build())
          .get()
          .getCount();
    } catch (Exception e) {
      return -1;
    }
  }

  /** Collapses repeats: an observer hears a leader once per proclamation. */
  static List<String> leaders(List<String> values) {
    List<String> out = new ArrayList<>();
    for (String v : values) {
      if (out.isEmpty() || !out.get(out.size() - 1).equals(v)) {
        out.add(v);
      }
    }
    return out;
  }

  /**
   * Campaigners a (jetcd), b (an etcdctl process, lease TTL 2 s) and c (jetcd) in that order;
   * observers: two jetcd clients and an etcdctl {@code elect -l}. a wins, proclaims a2 and resigns;
   * b wins and is killed with SIGKILL; c wins once b's lease expires. Exactly one campaign returns
   * at a time, and every observer sees a, a2, b, c in that order.
   */
  @Test
  void leadersFollowOneAnotherAndEveryObserverSeesTheSameOrder() throws Exception {
    Election e = client.getElectionClient();
    List<List<String>> seen = new ArrayList<>();
    List<Client> observerClients = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      List<String> values = Collections.synchronizedList(new ArrayList<>());
      seen.add(values);
      Client oc = Client.builder().endpoints(url).build();
      observerClients.add(oc);
      oc.getElectionClient()
          .observe(
              b("job"),
              new Election.Listener() {
                @Override
                public void onNext(LeaderResponse r) {
                  values.add(r.getKv().getValue().toString(UTF_8));
                }

                @Override
                public void onError(Throwable t) {
                  values.add("error " + t);
                }

                @Override
                public void onCompleted() {}
              });
    }
    Path listenOut = dir.resolve("listen.out");
    List<Process> started = new ArrayList<>();
    Process listener = Procs.etcdctl(url, listenOut, "elect", "-l", "job");
    started.add(listener);
    try {
      long leaseA = client.getLeaseClient().grant(30).get().getID();
      CampaignResponse a = e.campaign(b("job"), leaseA, b("a")).get(10, TimeUnit.SECONDS);
      LeaderKey ka = a.getLeader();
      assertThat(ka.getKey().toString(UTF_8)).isEqualTo("job/" + Long.toHexString(leaseA));
      assertThat(e.leader(b("job")).get().getKv().getValue().toString(UTF_8)).isEqualTo("a");
      // The observers' streams open asynchronously: one that opens after the proclamation starts
      // from a2. So a2 waits until each has heard a (an observer that opens late starts from the
      // current leader, a).
      for (List<String> values : seen) {
        await(() -> !values.isEmpty(), "observers to hear a");
      }
      await(() -> contains(listenOut, "\na\n"), "etcdctl elect -l to hear a");
      // The leader proclaims a new value; every observer hears it.
      e.proclaim(ka, b("a2")).get();

      Path bOut = dir.resolve("b.out");
      Process bProc = Campaigner.start(bOut, url, "job", "b", 2);
      started.add(bProc);
      await(() -> contains(bOut, "campaigning"), "b to campaign");
      await(() -> keys("job/") == 2, "b's campaign key");
      long leaseC = client.getLeaseClient().grant(30).get().getID();
      CompletableFuture<CampaignResponse> c = e.campaign(b("job"), leaseC, b("c"));
      Thread.sleep(300);
      assertThat(c).as("c waits while a leads").isNotDone();
      assertThat(Files.readString(bOut)).as("b waits while a leads").doesNotContain("leader");

      // A non-leader cannot proclaim: c's key as c would hold it, with a wrong revision.
      LeaderKey fake =
          new LeaderKey(b("job"), b("job/" + Long.toHexString(leaseC)), ka.getRevision(), leaseC);
      assertThatThrownBy(() -> e.proclaim(fake, b("usurp")).get())
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(io.etcd.jetcd.election.NotLeaderException.class);

      e.resign(ka).get();
      await(() -> contains(bOut, "leader job/"), "b to lead");
      assertThat(c).as("c waits while b leads").isNotDone();
      assertThatThrownBy(() -> e.proclaim(ka, b("stale")).get())
          .as("a resigned")
          .hasCauseInstanceOf(io.etcd.jetcd.election.NotLeaderException.class);
      assertThat(e.leader(b("job")).get().getKv().getValue().toString(UTF_8)).isEqualTo("b");

      long killed = System.nanoTime();
      Procs.killHard(bProc);
      CampaignResponse cr = c.get(10, TimeUnit.SECONDS);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed))
          .as("c leads after b's lease expired")
          .isGreaterThan(1000);
      assertThat(cr.getLeader().getKey().toString(UTF_8))
          .isEqualTo("job/" + Long.toHexString(leaseC));
      assertThat(e.leader(b("job")).get().getKv().getValue().toString(UTF_8)).isEqualTo("c");

      // d, an etcdctl campaigner, queues behind c and leads once c resigns; SIGTERM makes
      // etcdctl resign.
      Path dOut = dir.resolve("d.out");
      Process d = Procs.etcdctl(url, dOut, "elect", "job", "d");
      started.add(d);
      await(() -> keys("job/") == 2, "d's campaign key");
      Thread.sleep(200);
      assertThat(Files.readString(dOut)).as("d waits while c leads").isEmpty();
      e.resign(cr.getLeader()).get();
      await(() -> contains(dOut, "\nd\n"), "d to lead");
      assertThat(e.leader(b("job")).get().getKv().getValue().toString(UTF_8)).isEqualTo("d");
      d.destroy();
      assertThat(d.waitFor(10, TimeUnit.SECONDS)).isTrue();
      await(() -> keys("job/") == 0, "d to resign");
      assertThatThrownBy(() -> e.leader(b("job")).get())
          .hasCauseInstanceOf(io.etcd.jetcd.election.NoLeaderException.class);

      List<String> expected = List.of("a", "a2", "b", "c", "d");
      for (List<String> values : seen) {
        await(() -> leaders(List.copyOf(values)).size() >= 5, "observers to hear d");
        assertThat(leaders(List.copyOf(values))).isEqualTo(expected);
      }
      // etcdctl elect -l prints each leader's key then value.
      await(() -> contains(listenOut, "\nd\n"), "etcdctl elect -l to hear d");
      List<String> lines = Files.readAllLines(listenOut);
      List<String> values = new ArrayList<>();
      for (int i = 1; i < lines.size(); i += 2) {
        values.add(lines.get(i));
      }
      assertThat(leaders(values)).isEqualTo(expected);
    } finally {
      for (Process p : started) {
        Procs.killHard(p);
      }
      observerClients.forEach(Client::close);
    }
  }

  /**
   * An observer that reads nothing for a while: the server stops following (the call is not ready
   * once the client's flow-control window is full) instead of queueing every proclamation in
   * memory, and once the client reads again it still gets every value, in order, as etcd's observe
   * delivers each one.
   */
  @Test
  void aSlowObserverIsPausedAndStillHearsEveryProclamationInOrder() throws Exception {
    io.grpc.ManagedChannel ch = TestServer.channel(java.net.URI.create(url).getPort());
    try {
      var election = io.etch.api.v3electionpb.ElectionGrpc.newBlockingStub(ch);
      long lease =
          io.etch.api.etcdserverpb.LeaseGrpc.newBlockingStub(ch)
              .leaseGrant(
                  io.etch.api.etcdserverpb.LeaseGrantRequest.newBuilder().setTTL(60).build())
              .getID();
      com.google.protobuf.ByteString name = com.google.protobuf.ByteString.copyFromUtf8("slow");
      var leader =
          election
              .campaign(
                  io.etch.api.v3electionpb.CampaignRequest.newBuilder()
                      .setName(name)
                      .setLease(lease)
                      .setValue(com.google.protobuf.ByteString.copyFromUtf8("0"))
                      .build())
              .getLeader();
      List<String> heard = Collections.synchronizedList(new ArrayList<>());
      CompletableFuture<io.grpc.stub.ClientCallStreamObserver<?>> call = new CompletableFuture<>();
      io.etch.api.v3electionpb.ElectionGrpc.newStub(ch)
          .observe(
              io.etch.api.v3electionpb.LeaderRequest.newBuilder().setName(name).build(),
              new io.grpc.stub.ClientResponseObserver<
                  io.etch.api.v3electionpb.LeaderRequest,
                  io.etch.api.v3electionpb.LeaderResponse>() {
                @Override
                public void beforeStart(
                    io.grpc.stub.ClientCallStreamObserver<io.etch.api.v3electionpb.LeaderRequest>
                        r) {
                  r.disableAutoRequestWithInitial(1);
                  call.complete(r);
                }

                @Override
                public void onNext(io.etch.api.v3electionpb.LeaderResponse r) {
                  String v = r.getKv().getValue().toStringUtf8();
                  heard.add(v.substring(0, v.indexOf(' ') < 0 ? v.length() : v.indexOf(' ')));
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
              });
      await(() -> heard.size() == 1, "the observer to hear the leader");
      long pausesBefore = ElectionService.OBSERVE_PAUSES.sum();
      long sentBefore = ElectionService.OBSERVE_SENT.sum();
      // 200 proclamations of 32 KiB: 6.4 MiB, far past the client's 1 MiB window
      String pad = " " + "x".repeat(32 * 1024);
      int n = 200;
      for (int i = 1; i <= n; i++) {
        election.proclaim(
            io.etch.api.v3electionpb.ProclaimRequest.newBuilder()
                .setLeader(leader)
                .setValue(com.google.protobuf.ByteString.copyFromUtf8(i + pad))
                .build());
      }
      assertThat(ElectionService.OBSERVE_PAUSES.sum())
          .as("the server paused for the slow observer")
          .isGreaterThan(pausesBefore);
      assertThat(heard).hasSize(1);
      // held for it: what fits the client's window and gRPC's buffer, not the 200 values
      long sentWhileStalled = ElectionService.OBSERVE_SENT.sum() - sentBefore;
      System.out.println("observe: sent while the client read nothing: " + sentWhileStalled);
      assertThat(sentWhileStalled).isLessThan(n / 2);
      call.get(5, TimeUnit.SECONDS).request(Integer.MAX_VALUE);
      await(() -> heard.size() >= n + 1, "the observer to catch up");
      List<String> expected = new ArrayList<>();
      for (int i = 0; i <= n; i++) {
        expected.add(String.valueOf(i));
      }
      Thread.sleep(200); // nothing more (no duplicate) arrives
      assertThat(List.copyOf(heard)).isEqualTo(expected);
    } finally {
      TestServer.close(ch);
    }
  }
}
