package io.etch.server.watch;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.storage.mvcc.ApplyBatch;
import io.etch.storage.mvcc.Commit;
import io.etch.storage.mvcc.DeleteRangeRequest;
import io.etch.storage.mvcc.MvccStore;
import io.etch.storage.mvcc.PutRequest;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A Watch service without raft: a real MVCC store, a hub and a gRPC listener on an ephemeral port.
 * The test thread plays the apply thread: it commits batches to the store and publishes their
 * events, exactly as EtchStateMachine does. Lets tests choose the progress interval and response
 * limit, and write fast.
 */
final class HubHarness implements AutoCloseable {
  final MvccStore store;
  final WatchHub hub;
  final Server server;
  private long index;

  HubHarness(Path dir, Duration progressInterval, int maxResponseBytes) throws Exception {
    store = MvccStore.open(dir);
    hub =
        new WatchHub(
            store,
            rev ->
                ResponseHeader.newBuilder()
                    .setClusterId(1)
                    .setMemberId(2)
                    .setRevision(rev)
                    .setRaftTerm(3)
                    .build(),
            progressInterval,
            maxResponseBytes,
            System::nanoTime);
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(new WatchService(hub))
            .build()
            .start();
  }

  int port() {
    return server.getPort();
  }

  /** One put in its own batch; returns its revision. */
  long put(String key, String value) {
    try (ApplyBatch b = store.newBatch()) {
      b.put(new PutRequest(key.getBytes(UTF_8), value.getBytes(UTF_8), 0, false, false, false));
      return commit(b);
    }
  }

  /** Deletes [key, end) in one revision; returns the store's revision after it. */
  long deleteRange(String key, String end) {
    try (ApplyBatch b = store.newBatch()) {
      b.deleteRange(new DeleteRangeRequest(key.getBytes(UTF_8), end.getBytes(UTF_8), false));
      return commit(b);
    }
  }

  private long commit(ApplyBatch b) {
    b.setConsistentIndex(++index, 1);
    Commit c = b.commit();
    hub.publish(c.events());
    return c.revision();
  }

  @Override
  public void close() throws Exception {
    hub.close();
    server.shutdownNow().awaitTermination();
    store.close();
  }
}
