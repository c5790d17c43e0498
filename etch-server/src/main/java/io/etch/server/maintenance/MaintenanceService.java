package io.etch.server.maintenance;

import io.etch.api.etcdserverpb.AlarmRequest;
import io.etch.api.etcdserverpb.AlarmResponse;
import io.etch.api.etcdserverpb.DefragmentRequest;
import io.etch.api.etcdserverpb.DefragmentResponse;
import io.etch.api.etcdserverpb.HashKVRequest;
import io.etch.api.etcdserverpb.HashKVResponse;
import io.etch.api.etcdserverpb.HashRequest;
import io.etch.api.etcdserverpb.HashResponse;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.MoveLeaderRequest;
import io.etch.api.etcdserverpb.MoveLeaderResponse;
import io.etch.api.etcdserverpb.SnapshotRequest;
import io.etch.api.etcdserverpb.SnapshotResponse;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.api.etcdserverpb.StatusResponse;
import io.etch.server.EtcdStatus;
import io.etch.server.EtchServer;
import io.etch.server.Main;
import io.etch.storage.mvcc.MvccStore;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * etcd's Maintenance service: Status (what {@code etcdctl endpoint status} shows), Hash, HashKV,
 * Alarm and Defragment. Everything answers from this member's local state, as in etcd; the work
 * that reads the whole store (hashes) runs on the response executor, never on a Netty event loop.
 *
 * <p>Alarms ({@link Alarms}): NOSPACE is raised by the quota check ({@link Quota}), CORRUPT by the
 * corruption check; both are applied through raft.
 */
public final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
  private final EtchServer server;

  public MaintenanceService(EtchServer server) {
    this.server = server;
  }

  @Override
  public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
    answer(
        () -> {
          MvccStore store = server.store();
          long size = store.sizeOnDisk();
          long leader = server.raft().leader();
          StatusResponse.Builder b = StatusResponse.newBuilder();
          if (leader == 0) {
            // etcd lists a missing leader among the member's errors (endpoint status shows it).
            b.addErrors(EtcdStatus.NO_LEADER.message());
          }
          return b.setHeader(server.header(store.currentRevision()))
              .setVersion(Main.ETCD_COMPATIBLE_VERSION)
              .setDbSize(size)
              // RocksDB's estimate of live data (etcd: the bytes its B+tree pages hold).
              .setDbSizeInUse(Math.min(size, store.sizeInUse()))
              .setLeader(leader)
              .setRaftIndex(server.raft().committedIndex())
              .setRaftTerm(server.raft().term())
              .setRaftAppliedIndex(server.raft().appliedIndex())
              .setIsLearner(
                  store.members().stream()
                      .anyMatch(m -> m.id() == server.memberId() && m.isLearner()))
              .setDbSizeQuota(server.config().quotaBackendBytes())
              .build();
        },
        out);
  }

  @Override
  public void hash(HashRequest req, StreamObserver<HashResponse> out) {
    if (!server.auth().admitMaintenance(out)) {
      return; // root only, as etcd
    }
    answer(
        () -> {
          long rev = server.store().currentRevision();
          int hash = server.store().hash();
          return HashResponse.newBuilder().setHeader(server.header(rev)).setHash(hash).build();
        },
        out);
  }

  @Override
  public void hashKV(HashKVRequest req, StreamObserver<HashKVResponse> out) {
    if (!server.auth().admitMaintenance(out)) {
      return; // root only, as etcd
    }
    answer(
        () -> {
          io.etch.storage.mvcc.HashKVResponse r = server.store().hashKV(req.getRevision());
          long hashed = req.getRevision() == 0 ? r.header().revision() : req.getRevision();
          return HashKVResponse.newBuilder()
              .setHeader(server.header(r.header().revision()))
              .setHash(r.hash())
              // etcd reports -1 until the first compaction.
              .setCompactRevision(r.compactRevision() == 0 ? -1 : r.compactRevision())
              .setHashRevision(hashed)
              .build();
        },
        out);
  }

  /**
   * etcd's Alarm: ACTIVATE and DEACTIVATE go through raft, so a raised or disarmed alarm is applied
   * on every member and persisted with the store; GET answers from the alarms applied here.
   */
  @Override
  public void alarm(AlarmRequest req, StreamObserver<AlarmResponse> out) {
    if (req.getAction() == AlarmRequest.AlarmAction.GET) {
      answer(
          () ->
              AlarmResponse.newBuilder()
                  .setHeader(server.header(server.store().currentRevision()))
                  .addAllAlarms(server.alarms().list())
                  .build(),
          out);
      return;
    }
    if (!server.auth().admitMaintenance(out)) {
      return; // changing alarms is for root, as etcd
    }
    server
        .propose(io.etch.api.internal.InternalRequest.newBuilder().setAlarm(req))
        .whenComplete(
            (applied, err) -> {
              if (err != null) {
                out.onError(EtcdStatus.of(err));
              } else {
                out.onNext(
                    ((AlarmResponse) applied.response())
                        .toBuilder().setHeader(server.header(applied.revision())).build());
                out.onCompleted();
              }
            });
  }

  /**
   * etcd rewrites its bbolt file to give back free pages, blocking the member meanwhile. RocksDB
   * reclaims the space of deleted revisions by its own background compactions, online; the store
   * offers no manual compaction to force it sooner, so Defragment answers as etcd does when done.
   */
  @Override
  public void defragment(DefragmentRequest req, StreamObserver<DefragmentResponse> out) {
    if (!server.auth().admitMaintenance(out)) {
      return; // root only, as etcd
    }
    // A full-range RocksDB compaction, online: reads and writes go on meanwhile (etcd's defrag
    // blocks them while it rewrites the file).
    CompletableFuture.runAsync(() -> server.store().defragment())
        .whenComplete(
            (v, err) -> {
              if (err != null) {
                out.onError(EtcdStatus.of(err));
              } else {
                out.onNext(
                    DefragmentResponse.newBuilder()
                        .setHeader(server.header(server.store().currentRevision()))
                        .build());
                out.onCompleted();
              }
            });
  }

  /**
   * etcd's Snapshot: a RocksDB checkpoint of the store (hard links; writes go on meanwhile) taken
   * at one point in time, streamed in 32 KiB chunks with etcd's {@code remaining_bytes} and a
   * trailing SHA-256 ({@link SnapshotFile}). Sent from its own thread at the pace the client reads
   * (gRPC flow control); the checkpoint is deleted when done.
   */
  @Override
  public void snapshot(SnapshotRequest req, StreamObserver<SnapshotResponse> out) {
    if (!server.auth().admitMaintenance(out)) {
      return; // root only, as etcd
    }
    io.grpc.stub.ServerCallStreamObserver<SnapshotResponse> call =
        (io.grpc.stub.ServerCallStreamObserver<SnapshotResponse>) out;
    Object ready = new Object();
    call.setOnReadyHandler(
        () -> {
          synchronized (ready) {
            ready.notifyAll();
          }
        });
    call.setOnCancelHandler(
        () -> {
          synchronized (ready) {
            ready.notifyAll();
          }
        });
    Thread t =
        new Thread(
            () -> {
              java.nio.file.Path dir =
                  server
                      .config()
                      .dataDir()
                      .resolve("member")
                      .resolve(".snapshot-" + java.util.UUID.randomUUID());
              try {
                long rev = server.store().currentRevision();
                server.store().checkpoint(dir);
                try (SnapshotFile.Writer w = new SnapshotFile.Writer(dir, 32 * 1024)) {
                  while (w.hasNext()) {
                    synchronized (ready) {
                      while (!call.isReady() && !call.isCancelled()) {
                        ready.wait(100);
                      }
                    }
                    if (call.isCancelled()) {
                      return;
                    }
                    byte[] chunk = w.next();
                    call.onNext(
                        SnapshotResponse.newBuilder()
                            .setHeader(server.header(rev))
                            .setRemainingBytes(w.remaining())
                            .setBlob(com.google.protobuf.ByteString.copyFrom(chunk))
                            .build());
                  }
                }
                call.onCompleted();
              } catch (Exception e) {
                if (!call.isCancelled()) {
                  call.onError(EtcdStatus.of(e));
                }
              } finally {
                try {
                  SnapshotFile.deleteTree(dir);
                } catch (java.io.IOException e) {
                  // left for the operator; named in the member directory as .snapshot-*
                }
              }
            },
            "etch-snapshot");
    t.setDaemon(true);
    t.start();
  }

  /**
   * etcd's MoveLeader: only the leader may hand leadership over, only to a voting member; answers
   * once the target leads, or fails with etcd's timeout if it does not within the request timeout.
   */
  @Override
  public void moveLeader(MoveLeaderRequest req, StreamObserver<MoveLeaderResponse> out) {
    if (!server.auth().admitMaintenance(out)) {
      return;
    }
    if (!server.raft().isLeader()) {
      out.onError(EtcdStatus.NOT_LEADER.exception());
      return;
    }
    long target = req.getTargetID();
    boolean voter =
        server.store().members().stream().anyMatch(m -> m.id() == target && !m.isLearner());
    if (!voter) {
      out.onError(EtcdStatus.BAD_LEADER_TRANSFEREE.exception());
      return;
    }
    long deadline = System.nanoTime() + server.requestTimeout().toNanos();
    if (target != server.memberId()) {
      server.raft().transferLeader(target);
    }
    awaitLeader(target, deadline, out);
  }

  private void awaitLeader(long target, long deadline, StreamObserver<MoveLeaderResponse> out) {
    if (server.raft().leader() == target) {
      out.onNext(
          MoveLeaderResponse.newBuilder()
              .setHeader(server.header(server.store().currentRevision()))
              .build());
      out.onCompleted();
    } else if (System.nanoTime() > deadline) {
      out.onError(
          Status.UNAVAILABLE
              .withDescription("etcdserver: request timed out, leader transfer took too long")
              .asRuntimeException());
    } else {
      CompletableFuture.delayedExecutor(
              server.config().heartbeatInterval().toMillis(), TimeUnit.MILLISECONDS)
          .execute(() -> awaitLeader(target, deadline, out));
    }
  }

  private <T> void answer(Supplier<T> work, StreamObserver<T> out) {
    CompletableFuture.supplyAsync(work, server.responseExecutor())
        .whenComplete(
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
