package io.etch.server.election;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.Compare;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.etcdserverpb.TxnResponse;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.api.mvccpb.Event;
import io.etch.api.mvccpb.KeyValue;
import io.etch.api.v3electionpb.CampaignRequest;
import io.etch.api.v3electionpb.CampaignResponse;
import io.etch.api.v3electionpb.ElectionGrpc;
import io.etch.api.v3electionpb.LeaderKey;
import io.etch.api.v3electionpb.LeaderRequest;
import io.etch.api.v3electionpb.LeaderResponse;
import io.etch.api.v3electionpb.ProclaimRequest;
import io.etch.api.v3electionpb.ProclaimResponse;
import io.etch.api.v3electionpb.ResignRequest;
import io.etch.api.v3electionpb.ResignResponse;
import io.etch.server.EtcdStatus;
import io.etch.server.EtchServer;
import io.etch.server.lock.LocalClient;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.LongPredicate;

/**
 * etcd's Election service ({@code v3election} over {@code clientv3/concurrency.Election}).
 *
 * <p>A campaigner in election N holds the key {@code N/<lease id in hex>}, created with its lease
 * and its value in one txn; the leader is the key with the oldest create revision under {@code N/}.
 * Campaign waits (server-side watch on its predecessor's key, never polling) until every older key
 * is gone, then re-checks its own key and lease are still there (the Jepsen rule for locks applies
 * to leadership too), and answers the {@link LeaderKey}: name, key, create revision (the fencing
 * token: guard a leader's writes with a txn comparing {@code create_revision(key) == rev}), lease.
 * Proclaim and Resign act only while {@code create_revision(key) == rev} holds (etcd: {@code
 * election: not leader}); Leader reads the oldest key ({@code election: no leader}); Observe
 * streams the leader's key-value at each change of leader or proclamation, in revision order.
 *
 * <p>Handlers never block a Netty event loop; calls go through {@link LocalClient} as the caller,
 * so auth and raft apply are those of KV.
 */
public final class ElectionService extends ElectionGrpc.ElectionImplBase {
  private final LocalClient client;
  private final LongPredicate leaseAlive;

  public ElectionService(EtchServer server, LocalClient client) {
    this.client = client;
    this.leaseAlive = id -> server.lessor().exists(id);
  }

  static RuntimeException notLeader() {
    return Status.UNKNOWN.withDescription("election: not leader").asRuntimeException();
  }

  static RuntimeException noLeader() {
    return Status.UNKNOWN.withDescription("election: no leader").asRuntimeException();
  }

  static RuntimeException sessionExpired() {
    return Status.UNKNOWN.withDescription("election: session expired").asRuntimeException();
  }

  /** etcd's v3election ErrMissingLeaderKey. */
  static RuntimeException missingLeaderKey() {
    return Status.UNKNOWN.withDescription("\"leader\" field must be provided").asRuntimeException();
  }

  private static ByteString prefix(ByteString name) {
    return name.concat(ByteString.copyFromUtf8("/"));
  }

  private static Compare createIs(ByteString key, long rev) {
    return Compare.newBuilder()
        .setKey(key)
        .setTarget(Compare.CompareTarget.CREATE)
        .setResult(Compare.CompareResult.EQUAL)
        .setCreateRevision(rev)
        .build();
  }

  private static RequestOp put(ByteString key, ByteString value, long lease) {
    return RequestOp.newBuilder()
        .setRequestPut(PutRequest.newBuilder().setKey(key).setValue(value).setLease(lease))
        .build();
  }

  @Override
  public void campaign(CampaignRequest req, StreamObserver<CampaignResponse> out) {
    LocalClient.Caller c = client.as(Context.current());
    LocalClient.Cancel cancel = new LocalClient.Cancel();
    if (out instanceof ServerCallStreamObserver<CampaignResponse> sc) {
      sc.setOnCancelHandler(cancel::cancel);
    }
    complete(
        c.sessionLease(req.getLease()).thenCompose(lease -> campaign(c, cancel, req, lease)), out);
  }

  /** etcd's Election.Campaign for {@code req} under {@code lease}. */
  private CompletableFuture<CampaignResponse> campaign(
      LocalClient.Caller c, LocalClient.Cancel cancel, CampaignRequest req, long lease) {
    ByteString prefix = prefix(req.getName());
    ByteString key = prefix.concat(ByteString.copyFromUtf8(Long.toHexString(lease)));
    TxnRequest txn =
        TxnRequest.newBuilder()
            .addCompare(createIs(key, 0))
            .addSuccess(put(key, req.getValue(), lease))
            .addFailure(
                RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
            .build();
    return c.txn(txn)
        .thenComposeAsync(
            t -> {
              long rev;
              CompletableFuture<Void> proclaimed;
              if (t.getSucceeded()) {
                rev = t.getHeader().getRevision();
                proclaimed = CompletableFuture.completedFuture(null);
              } else {
                // Campaigning again with the same lease: same place; proclaim a new value.
                KeyValue kv = t.getResponses(0).getResponseRange().getKvs(0);
                rev = kv.getCreateRevision();
                proclaimed =
                    kv.getValue().equals(req.getValue())
                        ? CompletableFuture.completedFuture(null)
                        : proclaim(c, key, rev, lease, req.getValue()).thenAccept(h -> {});
              }
              LeaderKey leader =
                  LeaderKey.newBuilder()
                      .setName(req.getName())
                      .setKey(key)
                      .setRev(rev)
                      .setLease(lease)
                      .build();
              return proclaimed
                  .thenCompose(v -> c.waitDeletes(prefix, rev - 1, cancel))
                  .thenCompose(h -> ensureLeader(c, leader))
                  .thenApply(
                      v ->
                          CampaignResponse.newBuilder()
                              .setHeader(t.getHeader())
                              .setLeader(leader)
                              .build())
                  .exceptionallyCompose(
                      err -> {
                        // etcd: a canceled or failed campaign resigns its place.
                        return resign(c, leader)
                            .handle(
                                (d, e2) -> {
                                  throw new CompletionException(unwrap(err));
                                });
                      });
            },
            client.executor());
  }

  /** After the wait: the candidate's key is still there, with its lease, and the lease is alive. */
  private CompletableFuture<Void> ensureLeader(LocalClient.Caller c, LeaderKey leader) {
    return c.range(RangeRequest.newBuilder().setKey(leader.getKey()).build())
        .thenAccept(
            r -> {
              if (r.getKvsCount() == 0
                  || r.getKvs(0).getCreateRevision() != leader.getRev()
                  || r.getKvs(0).getLease() != leader.getLease()
                  || (leader.getLease() != 0 && !leaseAlive.test(leader.getLease()))) {
                throw sessionExpired();
              }
            });
  }

  private CompletableFuture<ResponseHeader> proclaim(
      LocalClient.Caller c, ByteString key, long rev, long lease, ByteString value) {
    TxnRequest txn =
        TxnRequest.newBuilder()
            .addCompare(createIs(key, rev))
            .addSuccess(put(key, value, lease))
            .build();
    return c.txn(txn)
        .thenApply(
            t -> {
              if (!t.getSucceeded()) {
                throw notLeader();
              }
              return t.getHeader();
            });
  }

  private CompletableFuture<TxnResponse> resign(LocalClient.Caller c, LeaderKey leader) {
    TxnRequest txn =
        TxnRequest.newBuilder()
            .addCompare(createIs(leader.getKey(), leader.getRev()))
            .addSuccess(
                RequestOp.newBuilder()
                    .setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(leader.getKey())))
            .build();
    return c.txn(txn);
  }

  @Override
  public void proclaim(ProclaimRequest req, StreamObserver<ProclaimResponse> out) {
    if (!req.hasLeader()) {
      out.onError(missingLeaderKey());
      return;
    }
    LeaderKey l = req.getLeader();
    LocalClient.Caller c = client.as(Context.current());
    // etcd resumes the election in a session of the key's lease; for lease 0 that session grants
    // a new 60 s lease (not kept alive), and the proclaimed key is put with it (etcd 3.4.23).
    complete(
        c.sessionLease(l.getLease())
            .thenCompose(lease -> proclaim(c, l.getKey(), l.getRev(), lease, req.getValue()))
            .thenApply(h -> ProclaimResponse.newBuilder().setHeader(h).build()),
        out);
  }

  @Override
  public void resign(ResignRequest req, StreamObserver<ResignResponse> out) {
    if (!req.hasLeader()) {
      out.onError(missingLeaderKey());
      return;
    }
    LocalClient.Caller c = client.as(Context.current());
    // as Proclaim: a lease-0 leader key makes etcd's session grant a lease first
    complete(
        c.sessionLease(req.getLeader().getLease())
            .thenCompose(lease -> resign(c, req.getLeader()))
            .thenApply(t -> ResignResponse.newBuilder().setHeader(t.getHeader()).build()),
        out);
  }

  @Override
  public void leader(LeaderRequest req, StreamObserver<LeaderResponse> out) {
    complete(
        client
            .as(Context.current())
            .range(LocalClient.firstCreate(prefix(req.getName())))
            .thenApply(
                r -> {
                  if (r.getKvsCount() == 0) {
                    throw noLeader();
                  }
                  return LeaderResponse.newBuilder()
                      .setHeader(r.getHeader())
                      .setKv(r.getKvs(0))
                      .build();
                }),
        out);
  }

  /**
   * etcd's Election.observe: the current leader (or, if none, the first key put under the prefix),
   * then each proclamation of that leader's key until it is deleted, then the next leader; one step
   * at a time, so responses leave in revision order.
   */
  @Override
  public void observe(LeaderRequest req, StreamObserver<LeaderResponse> out) {
    ServerCallStreamObserver<LeaderResponse> sc = (ServerCallStreamObserver<LeaderResponse>) out;
    Observer o = new Observer(client.as(Context.current()), prefix(req.getName()), sc);
    sc.setOnCancelHandler(o.cancel::cancel);
    sc.setOnReadyHandler(o::onReady);
    o.next();
  }

  /** Times an observer paused for a slow client, and values observers sent (tests, diagnostics). */
  static final java.util.concurrent.atomic.LongAdder OBSERVE_PAUSES =
      new java.util.concurrent.atomic.LongAdder();

  static final java.util.concurrent.atomic.LongAdder OBSERVE_SENT =
      new java.util.concurrent.atomic.LongAdder();

  /**
   * One Observe call. Back-pressure: etcd's observe hands each value to a blocking Send, so a slow
   * observer holds the server's watch back (and its watcher is caught up from the store later)
   * rather than buffering. Here, when the call is not ready (the client's flow-control window is
   * full) the observer stops its watch before sending and remembers the revision of the value not
   * sent; gRPC's onReady resumes a watch from that revision. Every value is still delivered, in
   * order, and what is held for a slow observer is what gRPC buffers up to its ready threshold, not
   * the whole backlog. A revision compacted meanwhile is handled as any compacted watch: the leader
   * is looked up afresh.
   */
  private final class Observer {
    final LocalClient.Caller c;
    final ByteString prefix;
    final ServerCallStreamObserver<LeaderResponse> out;
    final LocalClient.Cancel cancel = new LocalClient.Cancel();

    /** Set with the key and revision to resume from while the client is slow. */
    private final java.util.concurrent.atomic.AtomicBoolean paused =
        new java.util.concurrent.atomic.AtomicBoolean();

    private volatile ByteString pausedKey;
    private volatile long pausedFrom;

    Observer(
        LocalClient.Caller c, ByteString prefix, ServerCallStreamObserver<LeaderResponse> out) {
      this.c = c;
      this.prefix = prefix;
      this.out = out;
    }

    /** Finds the leader (waiting for one if none) and follows it. */
    void next() {
      if (cancel.isCanceled()) {
        return;
      }
      c.range(LocalClient.firstCreate(prefix))
          .whenCompleteAsync(
              (r, err) -> {
                if (err != null) {
                  fail(err);
                } else if (r.getKvsCount() == 0) {
                  awaitFirstPut(r.getHeader().getRevision());
                } else {
                  follow(r.getHeader(), r.getKvs(0));
                }
              },
              client.executor());
    }

    /** No leader: the first key put under the prefix from {@code rev} on is the next leader. */
    void awaitFirstPut(long rev) {
      watch(
          WatchCreateRequest.newBuilder()
              .setKey(prefix)
              .setRangeEnd(LocalClient.prefixEnd(prefix))
              .setStartRevision(rev)
              .build(),
          r -> {
            for (Event e : r.getEventsList()) {
              if (e.getType() == Event.EventType.PUT) {
                ResponseHeader h =
                    r.getHeader().toBuilder().setRevision(e.getKv().getModRevision()).build();
                client.executor().execute(() -> follow(h, e.getKv()));
                return false;
              }
            }
            return true;
          });
    }

    /** Sends the leader's key-value, then each change of it until it is deleted. */
    void follow(ResponseHeader h, KeyValue kv) {
      if (!send(h, kv)) {
        return;
      }
      followFrom(kv.getKey(), h.getRevision() + 1);
    }

    /** Watches the leader's key from {@code rev}: proclamations are sent, a delete ends it. */
    private void followFrom(ByteString key, long rev) {
      watch(
          WatchCreateRequest.newBuilder().setKey(key).setStartRevision(rev).build(),
          r -> {
            for (Event e : r.getEventsList()) {
              if (e.getType() == Event.EventType.DELETE) {
                client.executor().execute(this::next);
                return false;
              }
              if (!out.isReady()) {
                pause(key, e.getKv().getModRevision());
                return false;
              }
              // On the hub thread, in revision order: gRPC's onNext only queues.
              if (!send(r.getHeader(), e.getKv())) {
                return false;
              }
            }
            return true;
          });
    }

    private void pause(ByteString key, long from) {
      OBSERVE_PAUSES.increment();
      pausedKey = key;
      pausedFrom = from;
      paused.set(true);
      onReady(); // it may have become ready before the flag was set
    }

    /** gRPC's onReady (and pause's re-check): resumes a paused watch once. */
    void onReady() {
      if (out.isReady() && !cancel.isCanceled() && paused.compareAndSet(true, false)) {
        ByteString key = pausedKey;
        long from = pausedFrom;
        client.executor().execute(() -> followFrom(key, from));
      }
    }

    private boolean send(ResponseHeader h, KeyValue kv) {
      if (cancel.isCanceled()) {
        return false;
      }
      try {
        synchronized (this) {
          out.onNext(LeaderResponse.newBuilder().setHeader(h).setKv(kv).build());
        }
        OBSERVE_SENT.increment();
        return true;
      } catch (RuntimeException e) {
        cancel.cancel();
        return false;
      }
    }

    private void watch(
        WatchCreateRequest create, java.util.function.Predicate<WatchResponse> onEvents) {
      LocalClient.LocalWatch w =
          c.watch(
              create,
              new LocalClient.LocalWatch.Listener() {
                @Override
                public boolean onResponse(WatchResponse r) {
                  if (r.getCanceled()) {
                    // Compacted past (or refused): look for the leader afresh, as a new observe.
                    if (r.getCompactRevision() != 0) {
                      client.executor().execute(Observer.this::next);
                    } else {
                      fail(
                          Status.UNKNOWN.withDescription(r.getCancelReason()).asRuntimeException());
                    }
                    return false;
                  }
                  return onEvents.test(r);
                }

                @Override
                public void onError(Throwable t) {
                  fail(t);
                }
              });
      cancel.onCancel(w::close);
    }

    private void fail(Throwable t) {
      if (cancel.isCanceled()) {
        return;
      }
      cancel.cancel();
      try {
        synchronized (this) {
          out.onError(EtcdStatus.of(unwrap(t)));
        }
      } catch (RuntimeException e) {
        // the call is gone already
      }
    }
  }

  static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static <T> void complete(CompletableFuture<T> f, StreamObserver<T> out) {
    f.whenComplete(
        (resp, err) -> {
          if (err != null) {
            out.onError(EtcdStatus.of(unwrap(err)));
          } else {
            out.onNext(resp);
            out.onCompleted();
          }
        });
  }
}
