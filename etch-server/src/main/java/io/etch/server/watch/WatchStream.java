package io.etch.server.watch;

import io.etch.api.etcdserverpb.WatchResponse;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client Watch RPC (etcd's watch stream): its watchers by id and the gRPC observer responses go
 * out through. Everything but {@link #isReady()} is confined to the hub thread, which is also the
 * only thread that sends on the observer, so responses of a stream are totally ordered.
 */
final class WatchStream {
  private static final Logger log = LoggerFactory.getLogger(WatchStream.class);

  private final ServerCallStreamObserver<WatchResponse> out;
  final Map<Long, Watcher> watchers = new LinkedHashMap<>();

  /** etcd's AutoWatchID is 0: ids are chosen from here, skipping ids in use. */
  long nextId;

  /** A progress request waits for every watcher of the stream to be synced. */
  boolean progressRequested;

  boolean closed;

  WatchStream(ServerCallStreamObserver<WatchResponse> out) {
    this.out = out;
  }

  /** Whether gRPC's outbound buffer has room (safe from any thread). */
  boolean isReady() {
    return !closed && out.isReady();
  }

  void send(WatchResponse r) {
    if (closed) {
      return;
    }
    try {
      out.onNext(r);
    } catch (RuntimeException e) {
      // The call is gone (client canceled); the cancel handler removes the stream.
      log.debug("watch stream send failed: {}", e.toString());
      closed = true;
    }
  }

  void fail(Throwable t) {
    if (!closed) {
      closed = true;
      try {
        out.onError(t);
      } catch (RuntimeException e) {
        log.debug("watch stream close failed: {}", e.toString());
      }
    }
  }
}
