package io.etch.server.lock;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.Compare;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.etcdserverpb.TxnResponse;
import io.etch.api.mvccpb.KeyValue;
import io.etch.api.v3lockpb.LockGrpc;
import io.etch.api.v3lockpb.LockRequest;
import io.etch.api.v3lockpb.LockResponse;
import io.etch.api.v3lockpb.UnlockRequest;
import io.etch.api.v3lockpb.UnlockResponse;
import io.etch.server.EtcdStatus;
import io.etch.server.EtchServer;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.LongPredicate;

/**
 * etcd's Lock service ({@code v3lock} over {@code clientv3/concurrency.Mutex}).
 *
 * <p><b>The lock.</b> A lock named N is held by the key {@code N/<lease id in hex>} with the oldest
 * create revision under {@code N/}. Lock creates the caller's key with its lease in one txn (if
 * absent: locking twice with one lease is the same place in line), then waits, by server-side watch
 * and never by polling, for the deletion of the key with the largest create revision smaller than
 * its own: waiters form a queue by create revision and a release wakes exactly the next one. The
 * key goes when Unlock deletes it, when its lease expires or is revoked, or when the client cancels
 * its Lock call while waiting (its key is then deleted, as etcd does).
 *
 * <p>A Lock without a lease runs under one granted for it with etcd's session TTL (60 s), which
 * nobody keeps alive unless the client does (its id is the key's suffix): etcd's server-side
 * session does the same.
 *
 * <p><b>Ownership is re-checked.</b> Before answering, the waiter reads its own key again
 * (linearizably) and requires this member's lessor to still know its lease: a waiter whose lease
 * expired while it waited must not be told it holds the lock (Jepsen found etcd 3.4.3 did exactly
 * that). It is then answered {@code mutex: session is expired}.
 *
 * <p><b>Fencing.</b> The returned key's create revision is the fencing token: it only grows from
 * one holder to the next. A holder makes its writes conditional on still holding the lock with a
 * txn comparing {@code create_revision(key) == token} (or that the key exists at all); writes made
 * after the lease was lost then fail instead of racing the next holder. The header's revision of an
 * uncontended Lock is the key's create revision.
 *
 * <p><b>Threads.</b> Handlers run on Netty's event loop and never block: every step is a future
 * over {@link LocalClient}, which runs KvService and WatchService as the caller (so auth and raft
 * apply are those of KV: Lock needs read and write permission on the key, read on the prefix).
 */
public final class LockService extends LockGrpc.LockImplBase {
  private final LocalClient client;
  private final LongPredicate leaseAlive;

  public LockService(EtchServer server, LocalClient client) {
    this.client = client;
    this.leaseAlive = id -> server.lessor().exists(id);
  }

  @Override
  public void lock(LockRequest req, StreamObserver<LockResponse> out) {
    LocalClient.Caller c = client.as(Context.current());
    LocalClient.Cancel cancel = new LocalClient.Cancel();
    if (out instanceof ServerCallStreamObserver<LockResponse> sc) {
      sc.setOnCancelHandler(cancel::cancel);
    }
    CompletableFuture<LockResponse> f =
        c.sessionLease(req.getLease())
            .thenCompose(lease -> acquire(c, cancel, req.getName(), lease));
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

  /** etcd's Mutex.Lock for {@code name} under {@code lease}. */
  private CompletableFuture<LockResponse> acquire(
      LocalClient.Caller c, LocalClient.Cancel cancel, ByteString name, long lease) {
    ByteString prefix = name.concat(ByteString.copyFromUtf8("/"));
    ByteString key = prefix.concat(ByteString.copyFromUtf8(Long.toHexString(lease)));
    TxnRequest txn =
        TxnRequest.newBuilder()
            .addCompare(
                Compare.newBuilder()
                    .setKey(key)
                    .setTarget(Compare.CompareTarget.CREATE)
                    .setResult(Compare.CompareResult.EQUAL)
                    .setCreateRevision(0))
            .addSuccess(
                RequestOp.newBuilder()
                    .setRequestPut(PutRequest.newBuilder().setKey(key).setLease(lease)))
            .addSuccess(
                RequestOp.newBuilder().setRequestRange(LocalClient.firstCreate(prefix)).build())
            .addFailure(
                RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
            .addFailure(
                RequestOp.newBuilder().setRequestRange(LocalClient.firstCreate(prefix)).build())
            .build();
    return c.txn(txn)
        .thenComposeAsync(
            t -> {
              long myRev = myRevision(t);
              var owner = t.getResponses(1).getResponseRange().getKvsList();
              if (owner.isEmpty() || owner.get(0).getCreateRevision() == myRev) {
                // Created by this very txn with the lease (apply checked it exists): nothing to
                // re-check. A key there before is re-checked as a waiter's is.
                return t.getSucceeded()
                    ? CompletableFuture.completedFuture(
                        LockResponse.newBuilder().setHeader(t.getHeader()).setKey(key).build())
                    : ensureOwner(c, key, lease, t.getHeader());
              }
              return c.waitDeletes(prefix, myRev - 1, cancel)
                  .thenComposeAsync(h -> ensureOwner(c, key, lease, h), client.executor())
                  .exceptionallyCompose(
                      err -> {
                        // etcd's Mutex.Lock: a failed wait (canceled call) gives up its place.
                        return c.delete(key)
                            .handle(
                                (d, e2) -> {
                                  throw new CompletionException(unwrap(err));
                                });
                      });
            },
            client.executor());
  }

  /** The create revision of the caller's key: made by this txn, or there before (same lease). */
  private static long myRevision(TxnResponse t) {
    if (t.getSucceeded()) {
      return t.getHeader().getRevision();
    }
    return t.getResponses(0).getResponseRange().getKvs(0).getCreateRevision();
  }

  /**
   * The Jepsen check: the caller's key still exists (read linearizably now, after the wait) and is
   * still owned by its lease, and that lease is still alive; otherwise the caller does not hold the
   * lock.
   */
  private CompletableFuture<LockResponse> ensureOwner(
      LocalClient.Caller c, ByteString key, long lease, ResponseHeader header) {
    return c.range(RangeRequest.newBuilder().setKey(key).build())
        .thenApply(
            r -> {
              if (r.getKvsCount() == 0
                  || !stillLeased(r.getKvs(0), lease)
                  || (lease != 0 && !leaseAlive.test(lease))) {
                throw sessionExpired();
              }
              return LockResponse.newBuilder().setHeader(header).setKey(key).build();
            });
  }

  private static boolean stillLeased(KeyValue kv, long lease) {
    return kv.getLease() == lease;
  }

  /** etcd's concurrency.ErrSessionExpired, returned unmapped (gRPC code Unknown). */
  static RuntimeException sessionExpired() {
    return Status.UNKNOWN.withDescription("mutex: session is expired").asRuntimeException();
  }

  static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** etcd's Unlock: deletes the ownership key (whoever asks, as etcd; a missing key is fine). */
  @Override
  public void unlock(UnlockRequest req, StreamObserver<UnlockResponse> out) {
    client
        .as(Context.current())
        .delete(req.getKey())
        .whenComplete(
            (d, err) -> {
              if (err != null) {
                out.onError(EtcdStatus.of(unwrap(err)));
              } else {
                out.onNext(UnlockResponse.newBuilder().setHeader(d.getHeader()).build());
                out.onCompleted();
              }
            });
  }
}
