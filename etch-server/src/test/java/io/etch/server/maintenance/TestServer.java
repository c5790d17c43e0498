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

  private static final java.util.Set<Integer> HANDED_OUT =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * A port free to listen on, below the kernel's ephemeral range: a port from that range (what
   * {@code new ServerSocket(0)} gives) can be taken as the local port of some outgoing connection
   * between this call and the listener's bind, which happened in CI. Never the same port twice in
   * one JVM.
   */
  public static int freePort() throws IOException {
    int low = 32768;
    try {
      String[] range =
          java.nio.file.Files.readString(
                  java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
              .trim()
              .split("\\s+");
      low = Integer.parseInt(range[0]);
    } catch (IOException | RuntimeException e) {
      // not Linux, or unreadable: keep the usual default
    }
    int from = 10000;
    if (low - from < 1000) {
      try (ServerSocket s = new ServerSocket(0)) {
        return s.getLocalPort();
      }
    }
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 1000; attempt++) {
      int port = from + r.nextInt(low - from);
      if (!HANDED_OUT.add(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
        return port;
      } catch (IOException taken) {
        // in use: try another
      }
    }
    throw new IOException("no free port below " + low);
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
