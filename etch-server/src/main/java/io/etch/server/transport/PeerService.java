package io.etch.server.transport;

import io.etch.api.internal.MembersRequest;
import io.etch.api.internal.MembersResponse;
import io.etch.api.internal.RaftAck;
import io.etch.api.internal.RaftBatch;
import io.etch.api.internal.RaftGrpc;
import io.etch.api.internal.RaftMessage;
import io.etch.api.internal.SnapshotAck;
import io.etch.api.internal.SnapshotChunk;
import io.etch.raft.Message;
import io.etch.raft.MessageType;
import io.etch.raft.SnapshotMetadata;
import io.etch.server.raft.RaftNode;
import io.etch.storage.snapshot.SnapshotReceiver;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.function.LongPredicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives raft messages from peers and steps them into the local raft node. A peer from another
 * cluster (different cluster ID in the stream's metadata) is refused with a clear log line, as etcd
 * refuses it.
 */
public final class PeerService extends RaftGrpc.RaftImplBase {
  private static final Logger log = LoggerFactory.getLogger(PeerService.class);
  private final RaftNode raft;
  private final Supplier<MembersResponse> members;
  private final LongPredicate dropFrom;
  private final SnapshotSink snapshots;
  private final LongPredicate removed;

  /** What a member removed from the cluster is told when it still sends raft messages. */
  public static final String REMOVED = "etcdserver: the member has been permanently removed";

  /** Where received state-machine snapshots are stored before raft hears of them. */
  public interface SnapshotSink {
    /**
     * A receiver for the snapshot of this raft metadata, into the member's snapshot store; null if
     * the store holds that snapshot already (a resend after a lost answer).
     */
    SnapshotReceiver receive(SnapshotMetadata meta) throws IOException;
  }

  /**
   * @param members this member's view of the cluster, for members joining it
   * @param dropFrom members whose messages are dropped (fault injection, {@link
   *     PeerTransport#block})
   * @param snapshots where snapshots from a leader are stored
   * @param removed members no longer in the cluster, whose streams are refused with {@link
   *     #REMOVED} (etcd answers a removed member's messages so that it stops)
   */
  public PeerService(
      RaftNode raft,
      Supplier<MembersResponse> members,
      LongPredicate dropFrom,
      SnapshotSink snapshots,
      LongPredicate removed) {
    this.raft = raft;
    this.removed = removed;
    this.snapshots = snapshots;
    this.members = members;
    this.dropFrom = dropFrom;
  }

  @Override
  public void members(MembersRequest req, StreamObserver<MembersResponse> out) {
    out.onNext(members.get());
    out.onCompleted();
  }

  /** Checks the cluster ID on every peer stream before any message is read. */
  public static ServerInterceptor clusterCheck(long clusterId) {
    String expected = Long.toHexString(clusterId);
    return new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        String got = headers.get(PeerTransport.CLUSTER_ID);
        if (!expected.equals(got)
            && !call.getMethodDescriptor().equals(RaftGrpc.getMembersMethod())) {
          log.warn(
              "refused peer {}: cluster ID mismatch (local {}, remote {})",
              headers.get(PeerTransport.FROM_ID),
              expected,
              got);
          call.close(
              Status.FAILED_PRECONDITION.withDescription(
                  "etcdserver: cluster ID mismatch (local " + expected + ", remote " + got + ")"),
              new Metadata());
          return new ServerCall.Listener<>() {};
        }
        return Contexts.interceptCall(Context.current(), call, headers, next);
      }
    };
  }

  /**
   * A leader's snapshot: the SNAP message first, then the stored snapshot's bytes. They are written
   * to the snapshot store and made durable before the message reaches raft, so that once raft
   * records the snapshot in the WAL the data it stands for is on disk (a restart then restores the
   * store from it).
   */
  @Override
  public StreamObserver<SnapshotChunk> snapshot(StreamObserver<SnapshotAck> ack) {
    return new StreamObserver<>() {
      Message message;
      SnapshotReceiver receiver;
      String error;

      @Override
      public void onNext(SnapshotChunk c) {
        if (error != null) {
          return;
        }
        try {
          if (message == null) {
            message = RaftCodec.decode(c.getMessage());
            if (message.type() != MessageType.SNAP || dropFrom.test(message.from())) {
              error = "not a snapshot message";
              return;
            }
            receiver = snapshots.receive(message.snapshot().metadata());
          }
          if (receiver != null && !c.getData().isEmpty()) {
            receiver.accept(c.getData().toByteArray());
          }
        } catch (IOException | RuntimeException e) {
          error = e.toString();
          closeReceiver();
        }
      }

      @Override
      public void onError(Throwable t) {
        closeReceiver();
      }

      @Override
      public void onCompleted() {
        if (error == null && message != null) {
          try {
            SnapshotMetadata got =
                receiver == null ? message.snapshot().metadata() : receiver.finish().metadata();
            if (got.index() != message.snapshot().index()
                || got.term() != message.snapshot().term()) {
              error = "snapshot data is for index " + got.index() + ", message for " + message;
            } else {
              log.info(
                  "received snapshot at index {} from {}",
                  got.index(),
                  Long.toHexString(message.from()));
              raft.step(message);
            }
          } catch (IOException | RuntimeException e) {
            error = e.toString();
          }
        } else if (error == null) {
          error = "empty snapshot stream";
        }
        if (error != null) {
          log.warn("refused snapshot: {}", error);
        }
        ack.onNext(
            SnapshotAck.newBuilder()
                .setOk(error == null)
                .setError(error == null ? "" : error)
                .build());
        ack.onCompleted();
      }

      private void closeReceiver() {
        if (receiver != null) {
          try {
            receiver.close();
          } catch (IOException e) {
            log.warn("discarding a partial snapshot: {}", e.toString());
          }
        }
      }
    };
  }

  @Override
  public StreamObserver<RaftBatch> stream(StreamObserver<RaftAck> acks) {
    return new StreamObserver<>() {
      private boolean refused;

      @Override
      public void onNext(RaftBatch batch) {
        if (refused) {
          return;
        }
        if (batch.getMessagesCount() == 0) {
          // A round-trip probe (PeerTransport): answered at once, on the receiving thread.
          acks.onNext(RaftAck.newBuilder().setSeq(batch.getSeq()).build());
          return;
        }
        if (removed.test(batch.getMessages(0).getFrom())) {
          refused = true;
          acks.onError(Status.NOT_FOUND.withDescription(REMOVED).asRuntimeException());
          return;
        }
        for (RaftMessage m : batch.getMessagesList()) {
          if (dropFrom.test(m.getFrom())) {
            continue;
          }
          try {
            raft.step(RaftCodec.decode(m));
          } catch (IllegalArgumentException e) {
            log.warn("dropped invalid raft message from peer: {}", e.getMessage());
          }
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        acks.onCompleted();
      }
    };
  }
}
