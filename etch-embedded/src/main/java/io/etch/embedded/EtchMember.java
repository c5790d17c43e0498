package io.etch.embedded;

import io.etch.server.EtchServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;

/**
 * One member of an {@link EtchCluster}: its endpoints and data directory stay the same across
 * {@link #stop()} and {@link #restart()}, as a real member's do, so clients and the other members
 * reach it again at the same address.
 */
public final class EtchMember {
  private final EtchCluster cluster;
  private final int index;
  private final URI clientEndpoint;
  private final URI peerEndpoint;
  private final Path dataDir;
  private volatile EtchServer server;

  EtchMember(EtchCluster cluster, int index, int clientPort, int peerPort, Path dataDir) {
    this.cluster = cluster;
    this.index = index;
    this.clientEndpoint = URI.create("http://127.0.0.1:" + clientPort);
    this.peerEndpoint = URI.create("http://127.0.0.1:" + peerPort);
    this.dataDir = dataDir;
  }

  void startServer() throws IOException {
    server = EtchServer.start(cluster.config(this), cluster.tuning());
  }

  public int index() {
    return index;
  }

  /** The member's name ({@code m0}, {@code m1}, ...), as member list shows it. */
  public String name() {
    return "m" + index;
  }

  public URI clientEndpoint() {
    return clientEndpoint;
  }

  public URI peerEndpoint() {
    return peerEndpoint;
  }

  public Path dataDir() {
    return dataDir;
  }

  public boolean isRunning() {
    return server != null;
  }

  /** The running member's server (raft status, store), or null while it is stopped. */
  public EtchServer server() {
    return server;
  }

  /** The member's ID (stable across restarts); the member must be running or have run. */
  public long memberId() {
    EtchServer s = server;
    if (s == null) {
      throw new IllegalStateException(name() + " is not running");
    }
    return s.memberId();
  }

  /**
   * Stops the member as SIGTERM stops etch: listeners closed, in-flight calls finished or failed,
   * WAL and store closed. Its data stays for {@link #restart()}.
   */
  public void stop() {
    EtchServer s = server;
    if (s != null) {
      server = null;
      s.close();
    }
  }

  /**
   * Takes the member away at once: to its peers and clients the same as a crash (connections drop,
   * nothing more is answered). In one JVM this is {@link #stop()} (a thread cannot be SIGKILLed);
   * what was acknowledged is on disk either way, since etch fsyncs before it answers. For real kill
   * -9 and torn-write tests, see etch-jepsen.
   */
  public void kill() {
    stop();
  }

  void stopQuietly() {
    try {
      stop();
    } catch (RuntimeException e) {
      // closing the cluster: the other members still stop
    }
  }

  /**
   * Starts a stopped member again from its data directory, on the same ports. Returns when it
   * serves clients (it rejoined the cluster and knows the leader).
   */
  public EtchMember restart() {
    if (server != null) {
      throw new IllegalStateException(name() + " is running");
    }
    try {
      startServer();
    } catch (IOException e) {
      throw new UncheckedIOException("restarting " + name() + ": " + e.getMessage(), e);
    }
    return this;
  }

  @Override
  public String toString() {
    return name() + "(" + clientEndpoint + (server == null ? ", stopped)" : ")");
  }
}
