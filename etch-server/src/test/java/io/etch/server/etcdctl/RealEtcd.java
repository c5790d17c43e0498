package io.etch.server.etcdctl;

import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real one-member etcd (Debian's etcd 3.4) on free loopback ports with its data in a temp dir;
 * stopped through its own process handle, never by name.
 */
final class RealEtcd implements AutoCloseable {
  final String clientUrl;
  final String peerUrl;
  private final Process process;
  private final Path log;

  private RealEtcd(String clientUrl, String peerUrl, Process process, Path log) {
    this.clientUrl = clientUrl;
    this.peerUrl = peerUrl;
    this.process = process;
    this.log = log;
  }

  static RealEtcd start(Path dir, String... extra) throws Exception {
    String etcd = Etcdctl.binary("etcd");
    int clientPort = TestServer.freePort();
    int peerPort = TestServer.freePort();
    String client = "http://127.0.0.1:" + clientPort;
    String peer = "http://127.0.0.1:" + peerPort;
    List<String> cmd =
        new ArrayList<>(
            List.of(
                etcd,
                "--name=default",
                "--data-dir=" + dir.resolve("etcd-data"),
                "--listen-client-urls=" + client,
                "--advertise-client-urls=" + client,
                "--listen-peer-urls=" + peer,
                "--initial-advertise-peer-urls=" + peer,
                "--initial-cluster=default=" + peer,
                "--heartbeat-interval=10",
                "--election-timeout=100"));
    cmd.addAll(List.of(extra));
    Path log = dir.resolve("etcd.log");
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    RealEtcd e = new RealEtcd(client, peer, p, log);
    try {
      e.awaitLeader(clientPort);
    } catch (Exception ex) {
      e.close();
      throw ex;
    }
    return e;
  }

  private void awaitLeader(int port) throws Exception {
    ManagedChannel ch = TestServer.channel(port);
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        try {
          if (MaintenanceGrpc.newBlockingStub(ch)
                  .withDeadlineAfter(1, TimeUnit.SECONDS)
                  .status(StatusRequest.getDefaultInstance())
                  .getLeader()
              != 0) {
            return;
          }
        } catch (RuntimeException notYet) {
          // starting
        }
        if (!process.isAlive() || System.nanoTime() > deadline) {
          throw new IOException("etcd did not start:\n" + Files.readString(log));
        }
        Thread.sleep(50);
      }
    } finally {
      TestServer.close(ch);
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
