package io.etch.embedded;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for members. A member's ID is derived from its peer URLs and its client URLs are
 * published through raft before it listens, so every port must be known before the member starts: a
 * port-0 bind would be learnt too late. Ports are therefore picked below the kernel's ephemeral
 * range (a port from that range can become some outgoing connection's local port between the probe
 * and the member's bind), never twice in one JVM (two clusters in one JVM cannot collide), probed
 * by a bind; a start that still loses a port to another process is retried on fresh ports by {@link
 * EtchCluster}.
 */
final class Ports {
  private Ports() {}

  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();
  private static final int FROM = 10000;

  static int next() throws IOException {
    int low = ephemeralLow();
    if (low - FROM < 1000) {
      // A narrow range below the ephemeral ports: fall back to the kernel's choice.
      try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      }
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 1000; attempt++) {
      int port = FROM + r.nextInt(low - FROM);
      if (!HANDED_OUT.add(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress("127.0.0.1", port));
        return port;
      } catch (IOException taken) {
        // in use by another process: try another
      }
    }
    throw new IOException("no free loopback port below " + low);
  }

  private static int ephemeralLow() {
    try {
      String[] range =
          Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
      return Integer.parseInt(range[0]);
    } catch (IOException | RuntimeException e) {
      return 32768; // not Linux: the usual default
    }
  }
}
