package io.etch.server.cluster;

import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.server.EtcdStatus;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.function.BooleanSupplier;

/**
 * etcd's learner rule for client requests: a learner answers only Status and serializable Range (it
 * is not a voter, so it cannot vouch for linearizability and takes no writes); everything else,
 * streams included, gets {@code etcdserver: rpc not supported for learner}.
 */
public final class LearnerGuard implements ServerInterceptor {
  private final BooleanSupplier isLearner;

  public LearnerGuard(BooleanSupplier isLearner) {
    this.isLearner = isLearner;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    if (!isLearner.getAsBoolean()) {
      return next.startCall(call, headers);
    }
    if (call.getMethodDescriptor().getType() != MethodDescriptor.MethodType.UNARY) {
      call.close(EtcdStatus.NOT_SUPPORTED_FOR_LEARNER.exception().getStatus(), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    ServerCall.Listener<Q> delegate = next.startCall(call, headers);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      private boolean refused;

      @Override
      public void onMessage(Q message) {
        boolean allowed =
            message instanceof StatusRequest
                || (message instanceof RangeRequest r && r.getSerializable());
        if (allowed) {
          super.onMessage(message);
        } else {
          refused = true;
          call.close(EtcdStatus.NOT_SUPPORTED_FOR_LEARNER.exception().getStatus(), new Metadata());
        }
      }

      @Override
      public void onHalfClose() {
        if (!refused) {
          super.onHalfClose();
        }
      }
    };
  }
}
