package io.etch.server.lease;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.LeaseKeepAliveRequest;
import io.etch.api.etcdserverpb.LeaseKeepAliveResponse;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keep-alive streams that half-close while their keep-alives are still being answered: as etcd's
 * recv loop answers every request read before the client's CloseSend and only then ends the stream
 * with OK, every stream must end, promptly, with one answer per request in request order (TTL 0 for
 * a lease that does not exist), over gRPC and over the HTTP gateway.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LeaseKeepAliveStreamTest {
  private static final int STREAMS = 48;
  private static final int PER_STREAM = 25;
  private static final long UNKNOWN = 0x1234_5678L;

  /** Generous for a machine at load 20; a stream that hangs hangs for minutes. */
  private static final long END_WITHIN_SECONDS = 30;

  @TempDir static Path dir;
  EtchServer etch;
  int port;
  ManagedChannel channel;
  final List<Long> leases = new ArrayList<>();
  final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @BeforeAll
  void start() throws Exception {
    port = TestServer.freePort();
    etch = TestServer.start(dir.resolve("etch"), port);
    channel = TestServer.channel(port);
    LeaseGrpc.LeaseBlockingStub lease =
        LeaseGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    for (int i = 0; i < 3; i++) {
      leases.add(lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(600).build()).getID());
    }
  }

  @AfterAll
  void stop() throws Exception {
    TestServer.close(channel);
    if (etch != null) {
      etch.close();
    }
  }

  /** The ids stream {@code s} asks for: the live leases in turn, an unknown one every 4th. */
  private List<Long> ids(int s) {
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < PER_STREAM; i++) {
      ids.add((s + i) % 4 == 3 ? UNKNOWN : leases.get((s + i) % 4 % leases.size()));
    }
    return ids;
  }

  private record Answer(long id, long ttl) {}

  private static void assertAnswers(String what, List<Long> asked, List<Answer> got) {
    assertThat(got).as("%s: one answer per request", what).hasSize(asked.size());
    for (int i = 0; i < asked.size(); i++) {
      Answer a = got.get(i);
      assertThat(a.id()).as("%s: answer %d in request order", what, i).isEqualTo(asked.get(i));
      if (asked.get(i) == UNKNOWN) {
        assertThat(a.ttl()).as("%s: unknown lease", what).isZero();
      } else {
        assertThat(a.ttl()).as("%s: live lease", what).isBetween(590L, 600L);
      }
    }
  }

  @Test
  void grpcStreamsHalfClosedWithKeepAlivesInFlightAllEnd() throws Exception {
    LeaseGrpc.LeaseStub stub = LeaseGrpc.newStub(channel);
    List<CompletableFuture<List<Answer>>> ends = new ArrayList<>();
    List<StreamObserver<LeaseKeepAliveRequest>> senders = new ArrayList<>();
    for (int s = 0; s < STREAMS; s++) {
      CompletableFuture<List<Answer>> end = new CompletableFuture<>();
      List<Answer> got = new CopyOnWriteArrayList<>();
      ends.add(end);
      senders.add(
          stub.leaseKeepAlive(
              new StreamObserver<>() {
                @Override
                public void onNext(LeaseKeepAliveResponse r) {
                  got.add(new Answer(r.getID(), r.getTTL()));
                }

                @Override
                public void onError(Throwable t) {
                  end.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                  end.complete(got);
                }
              }));
    }
    // every request, then every half-close, at once: all keep-alives are in flight on close
    for (int s = 0; s < STREAMS; s++) {
      for (long id : ids(s)) {
        senders.get(s).onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
      }
    }
    senders.forEach(StreamObserver::onCompleted);
    for (int s = 0; s < STREAMS; s++) {
      List<Answer> got = ends.get(s).get(END_WITHIN_SECONDS, TimeUnit.SECONDS);
      assertAnswers("gRPC stream " + s, ids(s), got);
    }
  }

  @Test
  void gatewayStreamsOfManyKeepAlivesAllEnd() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> replies = new ArrayList<>();
    for (int s = 0; s < STREAMS; s++) {
      StringBuilder body = new StringBuilder();
      for (long id : ids(s)) {
        body.append("{\"ID\":\"").append(id).append("\"}\n");
      }
      replies.add(post(body.toString()));
    }
    for (int s = 0; s < STREAMS; s++) {
      HttpResponse<String> r = replies.get(s).get(END_WITHIN_SECONDS, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertAnswers("gateway stream " + s, ids(s), answers(r.body()));
    }
  }

  @Test
  void gatewayUnknownLeaseAndEmptyBodyEnd() throws Exception {
    // etcd 3.4: {"result":{"header":{...},"ID":"123"}} (TTL 0 omitted), then the stream ends
    HttpResponse<String> r =
        post("{\"ID\":\"" + UNKNOWN + "\"}").get(END_WITHIN_SECONDS, TimeUnit.SECONDS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).endsWith("}\n").doesNotContain("TTL").doesNotContain("error");
    assertThat(answers(r.body())).containsExactly(new Answer(UNKNOWN, 0));
    // etcd 3.4: no request, no answer, an empty chunked 200
    r = post("").get(END_WITHIN_SECONDS, TimeUnit.SECONDS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEmpty();
  }

  private CompletableFuture<HttpResponse<String>> post(String body) {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v3/lease/keepalive"))
            .timeout(Duration.ofSeconds(END_WITHIN_SECONDS + 30))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    return http.sendAsync(req, HttpResponse.BodyHandlers.ofString());
  }

  private static List<Answer> answers(String body) {
    List<Answer> out = new ArrayList<>();
    for (String line : body.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      JsonObject o = JsonParser.parseString(line).getAsJsonObject();
      assertThat(o.has("result")).as(line).isTrue();
      JsonObject r = o.getAsJsonObject("result");
      out.add(
          new Answer(
              Long.parseLong(r.get("ID").getAsString()),
              r.has("TTL") ? Long.parseLong(r.get("TTL").getAsString()) : 0));
    }
    return out;
  }
}
