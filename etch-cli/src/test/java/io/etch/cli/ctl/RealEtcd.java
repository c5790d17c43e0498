package io.etch.cli.ctl;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A real one-member etcd (Debian's etcd 3.4) on free loopback ports with its data in a temp dir
 * (etch-server's etcdctl/RealEtcd pattern); stopped through its own process handle.
 */
final class RealEtcd implements AutoCloseable {
  final String endpoint;
  private final Process process;

  private RealEtcd(String endpoint, Process process) {
    this.endpoint = endpoint;
    this.process = process;
  }

  /** A free port below the kernel's ephemeral range (see etch-server's TestServer.freePort). */
  static int freePort() throws IOException {
    for (int i = 0; i < 1000; i++) {
      int port = 10000 + ThreadLocalRandom.current().nextInt(20000);
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress("127.0.0.1", port));
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port");
  }

  static RealEtcd start(Path dir) throws Exception {
    int client = freePort();
    int peer = freePort();
    String c = "http://127.0.0.1:" + client;
    String p = "http://127.0.0.1:" + peer;
    Files.createDirectories(dir);
    Path log = dir.resolve("etcd.log");
    Process proc =
        new ProcessBuilder(
                List.of(
                    "etcd",
                    "--name=default",
                    "--data-dir=" + dir.resolve("data"),
                    "--listen-client-urls=" + c,
                    "--advertise-client-urls=" + c,
                    "--listen-peer-urls=" + p,
                    "--initial-advertise-peer-urls=" + p,
                    "--initial-cluster=default=" + p,
                    "--heartbeat-interval=10",
                    "--election-timeout=100"))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    RealEtcd e = new RealEtcd("127.0.0.1:" + client, proc);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.readString(log).contains("ready to serve client requests")) {
      if (!proc.isAlive() || System.nanoTime() > deadline) {
        e.close();
        throw new IOException("etcd did not start:\n" + Files.readString(log));
      }
      Thread.sleep(50);
    }
    try (Socket s = new Socket("127.0.0.1", client)) {
      // listening
    }
    return e;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
