package io.etch.server.lease;

import io.etch.api.etcdserverpb.LeaseCheckpoint;
import io.etch.api.etcdserverpb.LeaseCheckpointRequest;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrantResponse;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.LeaseKeepAliveRequest;
import io.etch.api.etcdserverpb.LeaseKeepAliveResponse;
import io.etch.api.etcdserverpb.LeaseLeasesRequest;
import io.etch.api.etcdserverpb.LeaseLeasesResponse;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.LeaseRevokeResponse;
import io.etch.api.etcdserverpb.LeaseStatus;
import io.etch.api.etcdserverpb.LeaseTimeToLiveRequest;
import io.etch.api.etcdserverpb.LeaseTimeToLiveResponse;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.internal.InternalRequest;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.server.EtchServer;
import io.etch.storage.mvcc.EtcdError;
import io.etch.storage.mvcc.EtcdException;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * etcd's Lease service. Grant and revoke go through raft and answer once applied; keep-alive and
 * time-to-live are answered by the leader's lessor, the only one that knows expiries; Leases lists
 * the local table. Never blocks a Netty event loop.
 */
public final class LeaseService extends LeaseGrpc.LeaseImplBase {
  private final EtchServer server;
  private final Lessor lessor;
  private final LeaseExpiry expiry;

  /** etcd's idutil generator: member id bits, then time in ms, then a counter. */
  private final AtomicLong ids;

  public LeaseService(EtchServer server, Lessor lessor, LeaseExpiry expiry) {
    this.server = server;
    this.lessor = lessor;
    this.expiry = expiry;
    this.ids =
        new AtomicLong(
            ((server.memberId() & 0xffff) << 48)
                | ((System.currentTimeMillis() & 0xffffffffffL) << 8));
  }

  @Override
  public void leaseGrant(LeaseGrantRequest req, StreamObserver<LeaseGrantResponse> out) {
    if (req.getTTL() > Lessor.MAX_TTL) {
      out.onError(EtcdStatus.LEASE_TTL_TOO_LARGE.exception());
      return;
    }
    complete(grant(req, req.getID() == Lessor.NO_LEASE, 3), out);
  }

  /**
   * The proposer picks the id of an id-less grant, so every member applies the same one (etcd's
   * LeaseGrant); a clash with an existing lease is retried with a fresh id.
   */
  private CompletableFuture<LeaseGrantResponse> grant(
      LeaseGrantRequest req, boolean serverChosen, int attempts) {
    LeaseGrantRequest r = serverChosen ? req.toBuilder().setID(nextId()).build() : req;
    return server
        .propose(InternalRequest.newBuilder().setLeaseGrant(r))
        .thenApply(
            a ->
                ((LeaseGrantResponse) a.response())
                    .toBuilder().setHeader(server.header(a.revision())).build())
        .exceptionallyCompose(
            err -> {
              if (serverChosen && attempts > 1 && isStatus(err, EtcdStatus.LEASE_EXIST)) {
                return grant(req, true, attempts - 1);
              }
              return CompletableFuture.failedFuture(err);
            });
  }

  @Override
  public void leaseRevoke(LeaseRevokeRequest req, StreamObserver<LeaseRevokeResponse> out) {
    io.etch.server.auth.AuthInfo who;
    try {
      who = server.auth().caller();
      server.auth().checkLeaseRevoke(who, req.getID());
    } catch (RuntimeException e) {
      out.onError(EtcdStatus.of(e));
      return;
    }
    complete(
        server
            .propose(server.auth().stamp(InternalRequest.newBuilder().setLeaseRevoke(req), who))
            .thenApply(
                a ->
                    LeaseRevokeResponse.newBuilder()
                        .setHeader(server.header(a.revision()))
                        .build()),
        out);
  }

  /**
   * One stream renews any number of leases; answers keep the order of the requests. An unknown (or
   * just revoked) lease is answered with TTL 0, as etcd answers it; losing leadership ends the
   * stream with an error the client retries. The client's half-close ends the stream with OK once
   * every keep-alive received before it is answered (etcd's recv loop answers each request before
   * it reads the next, and returns at io.EOF).
   */
  @Override
  public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(
      StreamObserver<LeaseKeepAliveResponse> out) {
    return new StreamObserver<>() {
      // gRPC delivers a call's inbound events one at a time; the chain orders the answers. It
      // never completes exceptionally (a failed link ends the stream with an error), so the
      // half-close's link always runs.
      private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
      private volatile boolean done;

      @Override
      public void onNext(LeaseKeepAliveRequest req) {
        tail =
            tail.thenCompose(
                    v -> done ? CompletableFuture.completedFuture(null) : keepAlive(req.getID()))
                .exceptionally(
                    err -> {
                      fail(err);
                      return null;
                    });
      }

      private CompletableFuture<Void> keepAlive(long id) {
        // etcd takes the header before renewing: a lease revoked at revision r is never seen
        // renewed at a revision after r.
        ResponseHeader header = currentHeader();
        return renew(id)
            .handleAsync(
                (ttl, err) -> {
                  if (done) {
                    return null;
                  }
                  if (err != null && !isLeaseNotFound(err)) {
                    fail(err);
                    return null;
                  }
                  try {
                    out.onNext(
                        LeaseKeepAliveResponse.newBuilder()
                            .setHeader(header)
                            .setID(id)
                            .setTTL(err == null ? ttl : 0)
                            .build());
                  } catch (RuntimeException e) {
                    done = true; // the client went away
                  }
                  return null;
                },
                server.responseExecutor());
      }

      private void fail(Throwable err) {
        if (done) {
          return;
        }
        done = true;
        try {
          out.onError(EtcdStatus.of(err));
        } catch (RuntimeException e) {
          // the client went away
        }
      }

      @Override
      public void onError(Throwable t) {
        done = true;
      }

      @Override
      public void onCompleted() {
        tail.thenRun(
            () -> {
              if (!done) {
                done = true;
                try {
                  out.onCompleted();
                } catch (RuntimeException e) {
                  // the client went away
                }
              }
            });
      }
    };
  }

  @Override
  public void leaseTimeToLive(
      LeaseTimeToLiveRequest req, StreamObserver<LeaseTimeToLiveResponse> out) {
    try {
      requirePrimary();
      server.auth().checkLeaseTimeToLive(server.auth().caller(), req.getID());
    } catch (RuntimeException e) {
      Optional<ManagedChannel> leader = server.leaderForwarder().leaderChannel();
      if (leader.isPresent()) {
        // Only the leader knows the remaining TTL: ask it, as etcd forwards LeaseTimeToLive.
        LeaseGrpc.newStub(leader.get())
            .withDeadlineAfter(server.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
            .leaseTimeToLive(req, out);
      } else {
        out.onError(EtcdStatus.of(e));
      }
      return;
    }
    Lessor.TimeToLive t = lessor.timeToLive(req.getID(), req.getKeys());
    LeaseTimeToLiveResponse.Builder b =
        LeaseTimeToLiveResponse.newBuilder().setHeader(currentHeader()).setID(req.getID());
    if (t == null) {
      b.setTTL(-1); // etcd answers an unknown lease with TTL -1, not an error
    } else {
      b.setTTL(t.remaining()).setGrantedTTL(t.grantedTtl()).addAllKeys(t.keys());
    }
    out.onNext(b.build());
    out.onCompleted();
  }

  @Override
  public void leaseLeases(LeaseLeasesRequest req, StreamObserver<LeaseLeasesResponse> out) {
    LeaseLeasesResponse.Builder b = LeaseLeasesResponse.newBuilder().setHeader(currentHeader());
    for (long id : lessor.leases()) {
      b.addLeases(LeaseStatus.newBuilder().setID(id));
    }
    out.onNext(b.build());
    out.onCompleted();
  }

  // ---------------------------------------------------------------- internals

  /** Renews on the leader; clears a checkpointed remaining TTL through raft, as etcd does. */
  private CompletableFuture<Long> renew(long id) {
    try {
      requirePrimary();
    } catch (RuntimeException e) {
      Optional<ManagedChannel> leader = server.leaderForwarder().leaderChannel();
      return leader.isPresent()
          ? forwardRenew(leader.get(), id)
          : CompletableFuture.failedFuture(e);
    }
    return lessor
        .renew(id)
        .thenApply(
            r -> {
              if (r.clearCheckpoint()) {
                server.propose(
                    InternalRequest.newBuilder()
                        .setLeaseCheckpoint(
                            LeaseCheckpointRequest.newBuilder()
                                .addCheckpoints(
                                    LeaseCheckpoint.newBuilder().setID(id).setRemainingTTL(0))));
              }
              return r.ttl();
            })
        .exceptionallyCompose(
            err ->
                CompletableFuture.failedFuture(
                    unwrap(err) instanceof Lessor.NotPrimaryException ? notLeader() : err));
  }

  /**
   * A keep-alive received by a member that does not lead goes to the leader, whose lessor alone
   * renews (etcd forwards LeaseRenew the same way); the leader's TTL is the answer, 0 for a lease
   * it does not know.
   */
  private CompletableFuture<Long> forwardRenew(ManagedChannel leader, long id) {
    CompletableFuture<Long> ttl = new CompletableFuture<>();
    StreamObserver<LeaseKeepAliveRequest> req =
        LeaseGrpc.newStub(leader)
            .withDeadlineAfter(server.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
            .leaseKeepAlive(
                new StreamObserver<>() {
                  @Override
                  public void onNext(LeaseKeepAliveResponse r) {
                    ttl.complete(r.getTTL());
                  }

                  @Override
                  public void onError(Throwable t) {
                    ttl.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    ttl.completeExceptionally(notLeader());
                  }
                });
    req.onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
    return ttl.whenComplete((t, err) -> req.onCompleted());
  }

  /** Only the leader's lessor knows expiries; a member that does not lead forwards to it. */
  private void requirePrimary() {
    expiry.syncLeadership();
    if (!lessor.isPrimary()) {
      throw notLeader();
    }
  }

  private EtcdStatusException notLeader() {
    return new EtcdStatusException(
        server.raft().leader() == 0 ? EtcdStatus.NO_LEADER : EtcdStatus.LEADER_CHANGED);
  }

  private long nextId() {
    long id;
    do {
      id = ids.incrementAndGet() & Long.MAX_VALUE;
    } while (id == Lessor.NO_LEASE);
    return id;
  }

  private ResponseHeader currentHeader() {
    return server.header(server.store().currentRevision());
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static boolean isLeaseNotFound(Throwable err) {
    return unwrap(err) instanceof EtcdException e && e.error() == EtcdError.LEASE_NOT_FOUND;
  }

  private static boolean isStatus(Throwable err, EtcdStatus status) {
    return unwrap(err) instanceof EtcdStatusException e && e.status() == status;
  }

  private <T> void complete(CompletableFuture<T> f, StreamObserver<T> out) {
    f.whenCompleteAsync(
        (resp, err) -> {
          if (err != null) {
            out.onError(EtcdStatus.of(err));
          } else {
            out.onNext(resp);
            out.onCompleted();
          }
        },
        server.responseExecutor());
  }
}
