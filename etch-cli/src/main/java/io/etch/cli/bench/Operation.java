package io.etch.cli.bench;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

/** One kind of request of a closed-loop workload (put, range, txn-put). */
interface Operation {
  /** A sender for the connection {@code channel}; built once per connection. */
  Sender bind(ManagedChannel channel);

  /** Sends requests over one connection. */
  interface Sender {
    /** Sends request number {@code seq} (0 ≤ seq < total) and calls {@code done} exactly once. */
    void send(long seq, Done done);
  }

  /** The outcome of one request. */
  interface Done {
    void ok();

    void failed(Throwable error);
  }

  /** Adapts a unary call's observer to {@link Done}; the response itself is not kept. */
  static <T> StreamObserver<T> observer(Done done) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {}

      @Override
      public void onError(Throwable t) {
        done.failed(t);
      }

      @Override
      public void onCompleted() {
        done.ok();
      }
    };
  }
}
