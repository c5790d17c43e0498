package io.etch.server.lock;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.DeleteRangeResponse;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrantResponse;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.etcdserverpb.TxnResponse;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.api.mvccpb.Event;
import io.etch.server.EtchServer;
import io.etch.server.kv.KvService;
import io.etch.server.watch.WatchService;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;

/**
 * This member's KV and Watch services called in-process, as etcd's lock and election servers call
 * theirs through v3client: each call runs the service's own code under the original client call's
 * gRPC context, so the caller's token is checked exactly as for a KV call (RBAC), writes go through
 * raft and are answered once applied, and reads are linearizable. Nothing here blocks: every call
 * answers a future; watch events arrive on the watch hub's thread and are handed to {@link
 * #executor()}.
 */
public final class LocalClient {
  private final KvService kv;
  private final WatchService watch;
  private final Executor executor;

  private final LeaseGrpc.LeaseImplBase lease;

  public LocalClient(EtchServer server, LeaseGrpc.LeaseImplBase lease) {
    this.lease = lease;
    this.kv = new KvService(server);
    this.watch = new WatchService(server.watchHub(), server.auth());
    this.executor = server.responseExecutor();
  }

  /** clientv3/concurrency's default session TTL, in seconds. */
  static final long SESSION_TTL = 60;

  /** Where continuations run (never the hub thread or a Netty event loop for long). */
  public Executor executor() {
    return executor;
  }

  /** The calls of one client request, made as its caller (the gRPC context of that request). */
  public Caller as(Context ctx) {
    return new Caller(ctx);
  }

  /** The lexically first key after every key with {@code prefix} (etcd's GetPrefixRangeEnd). */
  public static ByteString prefixEnd(ByteString prefix) {
    byte[] p = prefix.toByteArray();
    for (int i = p.length - 1; i >= 0; i--) {
      if (p[i] != (byte) 0xff) {
        byte[] e = java.util.Arrays.copyOf(p, i + 1);
        e[i]++;
        return ByteString.copyFrom(e);
      }
    }
    return ByteString.copyFrom(new byte[] {0}); // every key >= prefix
  }

  /** etcd's WithFirstCreate on a prefix: the key with the smallest create revision. */
  public static RangeRequest firstCreate(ByteString prefix) {
    return RangeRequest.newBuilder()
        .setKey(prefix)
        .setRangeEnd(prefixEnd(prefix))
        .setSortTarget(RangeRequest.SortTarget.CREATE)
        .setSortOrder(RangeRequest.SortOrder.ASCEND)
        .setLimit(1)
        .build();
  }

  /**
   * A request in flight that its client may cancel: the cancel stops the watch it waits on and
   * fails what it waits for, so nothing is left behind in the hub.
   */
  public static final class Cancel {
    private volatile boolean canceled;
    private Runnable onCancel;

    public boolean isCanceled() {
      return canceled;
    }

    public void cancel() {
      Runnable r;
      synchronized (this) {
        if (canceled) {
          return;
        }
        canceled = true;
        r = onCancel;
        onCancel = null;
      }
      if (r != null) {
        r.run();
      }
    }

    /** Runs {@code r} on cancel (at once if already canceled); replaces the previous one. */
    public void onCancel(Runnable r) {
      synchronized (this) {
        if (!canceled) {
          onCancel = r;
          return;
        }
      }
      r.run();
    }

    void clear() {
      synchronized (this) {
        onCancel = null;
      }
    }

    /** Throws etcd's context-canceled error once the client canceled. */
    public void check() {
      if (canceled) {
        throw canceled();
      }
    }

    static RuntimeException canceled() {
      return Status.CANCELLED.withDescription("context canceled").asRuntimeException();
    }
  }

  /**
   * What etcd's lock and election servers answer for a failed KV call: clientv3 turns the gRPC
   * status into a plain error, so the client gets code Unknown with the same message (etcd 3.4.23
   * observed: a Lock with an unknown lease fails with {@code Unknown: etcdserver: requested lease
   * not found}).
   */
  static Throwable asClientError(Throwable t) {
    if (t instanceof io.grpc.StatusRuntimeException sre
        && sre.getStatus().getCode() != Status.Code.UNKNOWN
        && sre.getStatus().getCode() != Status.Code.CANCELLED) {
      return Status.UNKNOWN.withDescription(sre.getStatus().getDescription()).asRuntimeException();
    }
    return t;
  }

  /** Calls made as one client. */
  public final class Caller {
    private final Context ctx;

    private Caller(Context ctx) {
      this.ctx = ctx;
    }

    public CompletableFuture<TxnResponse> txn(TxnRequest r) {
      return call((req, out) -> kv.txn(req, out), r);
    }

    public CompletableFuture<RangeResponse> range(RangeRequest r) {
      return call((req, out) -> kv.range(req, out), r);
    }

    /**
     * The lease a Lock or Campaign without one runs under: etcd's server-side session grants one of
     * the session's default TTL (60 s) and stops keeping it alive at once, so such a lock or
     * leadership ends after 60 s unless the client keeps the lease (its id is in the key) alive.
     */
    public CompletableFuture<Long> sessionLease(long requested) {
      if (requested != 0) {
        return CompletableFuture.completedFuture(requested);
      }
      return this.<LeaseGrantRequest, LeaseGrantResponse>call(
              (req, out) -> lease.leaseGrant(req, out),
              LeaseGrantRequest.newBuilder().setTTL(SESSION_TTL).build())
          .thenApply(LeaseGrantResponse::getID);
    }

    public CompletableFuture<DeleteRangeResponse> delete(ByteString key) {
      return call(
          (req, out) -> kv.deleteRange(req, out),
          DeleteRangeRequest.newBuilder().setKey(key).build());
    }

    private <Q, R> CompletableFuture<R> call(BiConsumer<Q, StreamObserver<R>> method, Q req) {
      CompletableFuture<R> f = new CompletableFuture<>();
      StreamObserver<R> out =
          new StreamObserver<>() {
            @Override
            public void onNext(R value) {
              f.complete(value);
            }

            @Override
            public void onError(Throwable t) {
              f.completeExceptionally(asClientError(t));
            }

            @Override
            public void onCompleted() {}
          };
      try {
        ctx.run(() -> method.accept(req, out));
      } catch (RuntimeException e) {
        f.completeExceptionally(e);
      }
      return f;
    }

    /**
     * etcd's waitDeletes: until no key under {@code prefix} has a create revision at most {@code
     * maxCreateRev}, waits for the deletion of the one with the largest (each waiter waits only on
     * its predecessor, so a release wakes exactly one waiter). Completes with the header of the
     * read that found none.
     */
    public CompletableFuture<ResponseHeader> waitDeletes(
        ByteString prefix, long maxCreateRev, Cancel cancel) {
      RangeRequest last =
          RangeRequest.newBuilder()
              .setKey(prefix)
              .setRangeEnd(prefixEnd(prefix))
              .setSortTarget(RangeRequest.SortTarget.CREATE)
              .setSortOrder(RangeRequest.SortOrder.DESCEND)
              .setLimit(1)
              .setMaxCreateRevision(maxCreateRev)
              .build();
      return range(last)
          .thenComposeAsync(
              r -> {
                cancel.check();
                if (r.getKvsCount() == 0) {
                  return CompletableFuture.completedFuture(r.getHeader());
                }
                return waitDelete(r.getKvs(0).getKey(), r.getHeader().getRevision(), cancel)
                    .thenComposeAsync(v -> waitDeletes(prefix, maxCreateRev, cancel), executor);
              },
              executor);
    }

    /**
     * Completes when {@code key} is deleted at or after revision {@code rev} (etcd's waitDelete),
     * or when the watch can no longer tell (its revision was compacted): the caller then reads
     * again.
     */
    CompletableFuture<Void> waitDelete(ByteString key, long rev, Cancel cancel) {
      CompletableFuture<Void> f = new CompletableFuture<>();
      LocalWatch w =
          watch(
              WatchCreateRequest.newBuilder().setKey(key).setStartRevision(rev).build(),
              new LocalWatch.Listener() {
                @Override
                public boolean onResponse(WatchResponse r) {
                  if (r.getCanceled()) {
                    if (r.getCompactRevision() != 0) {
                      f.complete(null);
                    } else {
                      f.completeExceptionally(
                          Status.UNKNOWN.withDescription(r.getCancelReason()).asRuntimeException());
                    }
                    return false;
                  }
                  for (Event e : r.getEventsList()) {
                    if (e.getType() == Event.EventType.DELETE) {
                      f.complete(null);
                      return false;
                    }
                  }
                  return true;
                }

                @Override
                public void onError(Throwable t) {
                  f.completeExceptionally(t);
                }
              });
      cancel.onCancel(
          () -> {
            w.close();
            f.completeExceptionally(Cancel.canceled());
          });
      return f.whenComplete(
          (v, err) -> {
            w.close();
            cancel.clear();
          });
    }

    /**
     * A server-side watch through the Watch service (so the caller's read permission is checked as
     * for a client's watch). {@code listener} runs on the hub thread and must not block.
     */
    public LocalWatch watch(WatchCreateRequest create, LocalWatch.Listener listener) {
      LocalWatch w = new LocalWatch(listener);
      ctx.run(
          () -> {
            StreamObserver<WatchRequest> requests = watch.watch(w);
            requests.onNext(WatchRequest.newBuilder().setCreateRequest(create).build());
          });
      return w;
    }
  }

  /**
   * The response side of an in-process watch stream: always ready (listeners only complete futures
   * or hand off), closed by {@link #close()} as a client cancels its call.
   */
  public static final class LocalWatch extends ServerCallStreamObserver<WatchResponse>
      implements AutoCloseable {
    /** Receives the stream's responses on the hub thread; returns false to stop the watch. */
    public interface Listener {
      boolean onResponse(WatchResponse r);

      void onError(Throwable t);
    }

    private final Listener listener;
    private volatile Runnable cancelHandler;
    private volatile boolean closed;

    LocalWatch(Listener listener) {
      this.listener = listener;
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      Runnable h = cancelHandler;
      if (h != null) {
        h.run();
      }
    }

    @Override
    public void onNext(WatchResponse r) {
      if (closed) {
        return;
      }
      if (r.getCreated() && !r.getCanceled()) {
        return;
      }
      boolean more;
      try {
        more = listener.onResponse(r);
      } catch (RuntimeException e) {
        more = false;
        listener.onError(e);
      }
      if (!more) {
        close();
      }
    }

    @Override
    public void onError(Throwable t) {
      if (!closed) {
        closed = true;
        listener.onError(t);
      }
    }

    @Override
    public void onCompleted() {
      onError(new CancellationException("watch ended"));
    }

    @Override
    public boolean isCancelled() {
      return closed;
    }

    @Override
    public void setOnCancelHandler(Runnable onCancelHandler) {
      this.cancelHandler = onCancelHandler;
    }

    @Override
    public void setCompression(String compression) {}

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void setOnReadyHandler(Runnable onReadyHandler) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}
  }
}
