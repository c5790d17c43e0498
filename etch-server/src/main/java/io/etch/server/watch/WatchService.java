package io.etch.server.watch;

import io.etch.api.etcdserverpb.WatchGrpc;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.server.auth.AuthStore;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * etcd's Watch service: one bidirectional stream carries many watches. gRPC threads only hand each
 * request to the {@link WatchHub}'s thread, in arrival order; that thread sends every response of
 * the stream. Flow control: the stream's on-ready handler wakes the hub so that watchers moved
 * aside while the client was not reading are caught up from the store.
 *
 * <p>As in etcd, a client half-closing its side does not end the stream: watches keep running until
 * the client cancels the call.
 */
public final class WatchService extends WatchGrpc.WatchImplBase {
  /**
   * Bytes gRPC may hold for a stream before it reports not ready and its watchers are moved aside
   * (gRPC's default, 32 KiB, would park a watcher on any small burst; etcd buffers 128 responses).
   */
  static final int ON_READY_THRESHOLD = 256 * 1024;

  private final WatchHub hub;
  private final AuthStore auth;

  /** Without auth checks (tests of the hub alone). */
  public WatchService(WatchHub hub) {
    this(hub, null);
  }

  public WatchService(WatchHub hub, AuthStore auth) {
    this.hub = hub;
    this.auth = auth;
  }

  @Override
  public StreamObserver<WatchRequest> watch(StreamObserver<WatchResponse> responses) {
    ServerCallStreamObserver<WatchResponse> out =
        (ServerCallStreamObserver<WatchResponse>) responses;
    WatchStream stream = new WatchStream(out);
    // etcd checks each create against the stream's token (or client certificate)
    AuthStore.Credentials creds = AuthStore.currentCredentials();
    out.setOnReadyThreshold(ON_READY_THRESHOLD);
    hub.submit(() -> hub.open(stream));
    out.setOnReadyHandler(hub::wake);
    out.setOnCancelHandler(() -> hub.submit(() -> hub.close(stream)));
    return new StreamObserver<>() {
      @Override
      public void onNext(WatchRequest req) {
        switch (req.getRequestUnionCase()) {
          case CREATE_REQUEST -> {
            String denied = auth == null ? null : auth.watchDenied(creds, req.getCreateRequest());
            if (denied != null) {
              hub.submit(() -> hub.refuse(stream, denied));
            } else {
              hub.submit(() -> hub.create(stream, req.getCreateRequest()));
            }
          }
          case CANCEL_REQUEST ->
              hub.submit(() -> hub.cancel(stream, req.getCancelRequest().getWatchId()));
          case PROGRESS_REQUEST -> hub.submit(() -> hub.requestProgress(stream));
          case REQUESTUNION_NOT_SET -> {
            // etcd ignores an empty request rather than ending the stream.
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        hub.submit(() -> hub.close(stream));
      }

      @Override
      public void onCompleted() {
        // etcd keeps serving the watches of a half-closed stream.
      }
    };
  }
}
