package io.etch.server.kv;

import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.etcdserverpb.CompactionResponse;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.DeleteRangeResponse;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.PutResponse;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.etcdserverpb.TxnResponse;
import io.etch.api.internal.InternalRequest;
import io.etch.server.EtcdStatus;
import io.etch.server.EtchServer;
import io.etch.server.EtchStateMachine;
import io.etch.server.auth.AuthInfo;
import io.etch.server.auth.AuthStore;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * etcd's KV service. Writes go through raft and answer once applied; linearizable reads (and
 * read-only txns) pass a ReadIndex barrier then read the local store; serializable reads read it
 * directly. Never blocks a Netty event loop: every wait is a future.
 */
public final class KvService extends KVGrpc.KVImplBase {
  private final EtchServer server;

  public KvService(EtchServer server) {
    this.server = server;
  }

  @Override
  public void range(RangeRequest req, StreamObserver<RangeResponse> out) {
    AuthStore auth = server.auth();
    AuthInfo who;
    try {
      // No --max-request-bytes check: etcd applies it to what enters the raft log, and a range
      // never does (only gRPC's own message limit bounds it).
      Checks.range(req);
      who = auth.caller();
      auth.checkRange(who, req);
    } catch (RuntimeException e) {
      out.onError(EtcdStatus.of(e));
      return;
    }
    Supplier<RangeResponse> read =
        () -> {
          io.etch.storage.mvcc.RangeResponse r = server.store().range(KvMapper.range(req));
          auth.checkStillCurrent(who); // etcd's doSerialize: the auth store must not have moved
          return KvMapper.rangeResponse(r, server.header(r.header().revision()));
        };
    if (req.getSerializable()) {
      complete(CompletableFuture.supplyAsync(read, server.responseExecutor()), out);
    } else {
      complete(
          server.linearizableBarrier().thenApplyAsync(v -> read.get(), server.responseExecutor()),
          out);
    }
  }

  @Override
  public void put(PutRequest req, StreamObserver<PutResponse> out) {
    AuthInfo who;
    try {
      Checks.put(req);
      who = server.auth().caller();
      server.auth().checkPut(who, req);
    } catch (RuntimeException e) {
      out.onError(EtcdStatus.of(e));
      return;
    }
    propose(
        server.auth().stamp(InternalRequest.newBuilder().setPut(req), who),
        a ->
            KvMapper.putResponse(
                (io.etch.storage.mvcc.PutResponse) a.response(),
                server.header(
                    ((io.etch.storage.mvcc.PutResponse) a.response()).header().revision())),
        out);
  }

  @Override
  public void deleteRange(DeleteRangeRequest req, StreamObserver<DeleteRangeResponse> out) {
    AuthInfo who;
    try {
      Checks.deleteRange(req);
      who = server.auth().caller();
      server.auth().checkDeleteRange(who, req);
    } catch (RuntimeException e) {
      out.onError(EtcdStatus.of(e));
      return;
    }
    propose(
        server.auth().stamp(InternalRequest.newBuilder().setDeleteRange(req), who),
        a -> {
          io.etch.storage.mvcc.DeleteRangeResponse r =
              (io.etch.storage.mvcc.DeleteRangeResponse) a.response();
          return KvMapper.deleteRangeResponse(r, server.header(r.header().revision()));
        },
        out);
  }

  @Override
  public void txn(TxnRequest req, StreamObserver<TxnResponse> out) {
    AuthInfo who;
    try {
      Checks.txn(req, server.config().maxTxnOps());
      who = server.auth().caller();
      server.auth().checkTxn(who, req);
    } catch (RuntimeException e) {
      out.onError(EtcdStatus.of(e));
      return;
    }
    if (ReadOnlyTxn.isReadOnly(req)) {
      // etcd answers these from the local store after a read barrier, outside the raft log (so
      // --max-request-bytes does not apply to them).
      Supplier<TxnResponse> read =
          () -> {
            io.etch.storage.mvcc.TxnResponse r =
                ReadOnlyTxn.execute(server.store(), KvMapper.txn(req));
            server.auth().checkStillCurrent(who);
            return KvMapper.txnResponse(r, server.header(r.header().revision()));
          };
      if (ReadOnlyTxn.isSerializable(req)) {
        complete(CompletableFuture.supplyAsync(read, server.responseExecutor()), out);
      } else {
        complete(
            server.linearizableBarrier().thenApplyAsync(v -> read.get(), server.responseExecutor()),
            out);
      }
      return;
    }
    propose(
        server.auth().stamp(InternalRequest.newBuilder().setTxn(req), who),
        a -> {
          io.etch.storage.mvcc.TxnResponse r = (io.etch.storage.mvcc.TxnResponse) a.response();
          return KvMapper.txnResponse(r, server.header(r.header().revision()));
        },
        out);
  }

  @Override
  public void compact(CompactionRequest req, StreamObserver<CompactionResponse> out) {
    // etcd checks no permission on compaction (any client may compact; etcd 3.4.23 observed).
    CompletableFuture<CompactionResponse> f =
        server
            .propose(InternalRequest.newBuilder().setCompaction(req))
            .thenCompose(
                a -> {
                  @SuppressWarnings("unchecked")
                  CompletableFuture<Long> physical = (CompletableFuture<Long>) a.response();
                  CompactionResponse resp =
                      CompactionResponse.newBuilder()
                          .setHeader(server.header(a.revision()))
                          .build();
                  // physical: answer only once the compacted revisions are gone from disk.
                  return req.getPhysical()
                      ? physical.thenApply(r -> resp)
                      : CompletableFuture.completedFuture(resp);
                });
    complete(f, out);
  }

  private <T> void propose(
      InternalRequest.Builder req,
      Function<EtchStateMachine.Applied, T> toResponse,
      StreamObserver<T> out) {
    complete(server.propose(req).thenApplyAsync(toResponse, server.answerExecutor()), out);
  }

  private static <T> void complete(CompletableFuture<T> f, StreamObserver<T> out) {
    f.whenComplete(
        (resp, err) -> {
          if (err != null) {
            out.onError(EtcdStatus.of(err));
          } else {
            out.onNext(resp);
            out.onCompleted();
          }
        });
  }
}
