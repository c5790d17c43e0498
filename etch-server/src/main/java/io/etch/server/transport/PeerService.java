package io.etch.server.transport;

import io.etch.api.internal.MembersRequest;
import io.etch.api.internal.MembersResponse;
import io.etch.api.internal.RaftAck;
import io.etch.api.internal.RaftBatch;
import io.etch.api.internal.RaftGrpc;
import io.etch.api.internal.RaftMessage;
import io.etch.server.raft.RaftNode;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
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

  /**
   * @param members this member's view of the cluster, for members joining it
   * @param dropFrom members whose messages are dropped (fault injection, {@link
   *     PeerTransport#block})
   */
  public PeerService(RaftNode raft, Supplier<MembersResponse> members, LongPredicate dropFrom) {
    this.raft = raft;
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

  @Override
  public StreamObserver<RaftBatch> stream(StreamObserver<RaftAck> acks) {
    return new StreamObserver<>() {
      @Override
      public void onNext(RaftBatch batch) {
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
