package io.etch.server.http;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.AlarmMember;
import io.etch.api.etcdserverpb.AlarmType;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.server.http.HttpGateway.Reply;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * GET /version, /health, /livez and /readyz with etcd 3.5's semantics: alarms and leader read from
 * the member, reads asked of the real KV service through the gateway's in-process channel:
 *
 * <ul>
 *   <li>/health: unhealthy (503) with an active alarm ({@code ALARM NOSPACE}), without a leader
 *       ({@code RAFT NO LEADER}) or when a range of key {@code health} fails ({@code QGET ERROR});
 *       {@code ?serializable=true} makes that range serializable. An auth error on the range (no
 *       user, no permission) still counts as healthy, as in etcd: /health stays 200 with auth on.
 *   <li>/livez: a serializable read answers. /readyz: no CORRUPT alarm, and a serializable and a
 *       linearizable read answer. Body {@code ok}, or the failed checks with 503.
 * </ul>
 */
public final class HealthRoutes {
  private HealthRoutes() {}

  /** Registers the routes on {@code gateway}; reads wait at most {@code timeout}. */
  public static void install(
      HttpGateway gateway,
      String serverVersion,
      String clusterVersion,
      Duration timeout,
      Supplier<List<AlarmMember>> alarms,
      LongSupplier leader) {
    String version =
        "{\"etcdserver\":\"" + serverVersion + "\",\"etcdcluster\":\"" + clusterVersion + "\"}";
    gateway.addGet(
        "/version",
        q -> CompletableFuture.completedFuture(Reply.json(HttpResponseStatus.OK, version)));
    var kv = KVGrpc.newStub(gateway.channel());
    gateway.addGet(
        "/health",
        q -> {
          boolean serializable =
              q.parameters().getOrDefault("serializable", java.util.List.of()).contains("true");
          return health(alarms, leader, kv, timeout, serializable);
        });
    gateway.addGet(
        "/livez",
        q ->
            authorized(range(kv, timeout, true))
                .handle(
                    (r, err) ->
                        probe(
                            "livez",
                            err == null ? null : "[-]serializable_read failed: " + why(err))));
    gateway.addGet(
        "/readyz",
        q ->
            CompletableFuture.completedFuture(alarms.get())
                .thenCompose(
                    active -> {
                      for (AlarmMember a : active) {
                        if (a.getAlarm() == AlarmType.CORRUPT) {
                          throw new CompletionException(
                              Status.DATA_LOSS.withDescription("CORRUPT").asRuntimeException());
                        }
                      }
                      return authorized(range(kv, timeout, true));
                    })
                .thenCompose(r -> authorized(range(kv, timeout, false)))
                .handle(
                    (r, err) ->
                        probe("readyz", err == null ? null : "[-]check failed: " + why(err))));
  }

  private static Reply probe(String name, String failure) {
    if (failure == null) {
      return Reply.text(HttpResponseStatus.OK, "ok\n");
    }
    return Reply.text(
        HttpResponseStatus.SERVICE_UNAVAILABLE, failure + "\n" + name + " check failed\n");
  }

  private static CompletableFuture<Reply> health(
      Supplier<List<AlarmMember>> alarms,
      LongSupplier leader,
      KVGrpc.KVStub kv,
      Duration timeout,
      boolean serializable) {
    // etcd reads the alarms and the leader from the member itself (no RPC, so no auth)
    List<AlarmMember> active = alarms.get();
    if (!active.isEmpty()) {
      return done(unhealthy("ALARM " + active.get(0).getAlarm().name()));
    }
    if (leader.getAsLong() == 0) {
      return done(unhealthy("RAFT NO LEADER"));
    }
    return authorized(range(kv, timeout, serializable))
        .handle(
            (r, err) ->
                err == null
                    ? Reply.json(HttpResponseStatus.OK, "{\"health\":\"true\",\"reason\":\"\"}")
                    : unhealthy("QGET ERROR:" + why(err)));
  }

  /**
   * etcd's health checks count a range refused by auth (no user: "user name is empty", or no
   * permission) as answered: the member served it.
   */
  private static CompletableFuture<RangeResponse> authorized(CompletableFuture<RangeResponse> f) {
    return f.exceptionallyCompose(
        err -> {
          Status.Code c = code(err);
          String why = why(err);
          if (c == Status.Code.PERMISSION_DENIED
              || c == Status.Code.UNAUTHENTICATED
              || (c == Status.Code.INVALID_ARGUMENT
                  && why.equals("etcdserver: user name is empty"))) {
            return done(RangeResponse.getDefaultInstance());
          }
          return CompletableFuture.failedFuture(err);
        });
  }

  private static Reply unhealthy(String reason) {
    return Reply.json(
        HttpResponseStatus.SERVICE_UNAVAILABLE,
        "{\"health\":\"false\",\"reason\":" + new com.google.gson.JsonPrimitive(reason) + "}");
  }

  private static CompletableFuture<RangeResponse> range(
      KVGrpc.KVStub kv, Duration timeout, boolean serializable) {
    RangeRequest req =
        RangeRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8("health"))
            .setSerializable(serializable)
            .build();
    return call(kv.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)::range, req);
  }

  private static <Q, R> CompletableFuture<R> call(BiConsumer<Q, StreamObserver<R>> rpc, Q req) {
    CompletableFuture<R> f = new CompletableFuture<>();
    rpc.accept(
        req,
        new StreamObserver<>() {
          @Override
          public void onNext(R value) {
            f.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            f.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            f.completeExceptionally(Status.INTERNAL.withDescription("no reply").asException());
          }
        });
    return f;
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }

  private static Status.Code code(Throwable t) {
    return Status.fromThrowable(unwrap(t)).getCode();
  }

  private static String why(Throwable t) {
    Throwable c = unwrap(t);
    if (c instanceof StatusRuntimeException e) {
      return e.getStatus().getDescription() == null
          ? e.getStatus().getCode().name()
          : e.getStatus().getDescription();
    }
    return Status.fromThrowable(c).toString();
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
