package io.etch.server.maintenance;

import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A one-member etch on free loopback ports with a short election timeout, for tests. */
public final class TestServer {
  private TestServer() {}

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Flags for a member in {@code dataDir} serving clients on {@code port}, plus {@code extra}. */
  public static EtchConfig config(Path dataDir, int port, String... extra) throws Exception {
    List<String> args = new ArrayList<>();
    args.add("--data-dir=" + dataDir);
    args.add("--listen-client-urls=http://127.0.0.1:" + port);
    args.add("--listen-peer-urls=http://127.0.0.1:0");
    args.add("--advertise-client-urls=http://127.0.0.1:" + port);
    args.add("--heartbeat-interval=10");
    args.add("--election-timeout=100");
    args.addAll(List.of(extra));
    return EtchConfig.parse(args.toArray(new String[0]), Map.of());
  }

  public static EtchServer start(Path dataDir, int port, String... extra) throws Exception {
    return EtchServer.start(config(dataDir, port, extra));
  }

  /** Starts with etcd's fixed intervals shortened. */
  public static EtchServer start(
      Path dataDir,
      int port,
      Duration revisionCompactionInterval,
      long snapshotCatchUpEntries,
      String... extra)
      throws Exception {
    return EtchServer.start(
        config(dataDir, port, extra),
        new EtchServer.Tuning(revisionCompactionInterval, snapshotCatchUpEntries));
  }

  public static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  public static void close(ManagedChannel ch) throws InterruptedException {
    if (ch != null) {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
