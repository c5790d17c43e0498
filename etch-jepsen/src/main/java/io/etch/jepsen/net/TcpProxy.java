package io.etch.jepsen.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP forwarder on 127.0.0.1 that a test can cut and heal, to partition a member from its peers.
 *
 * <p>While cut, existing connections are closed and new ones are accepted and closed at once (the
 * dialler sees a reset, as across a partition that a firewall rejects), and no byte is forwarded.
 * Healing lets new connections through again; peers reconnect on their own.
 *
 * <p>Threads: one acceptor, and two pumps per connection (one per direction). {@link #cut} and
 * {@link #heal} may be called from any thread.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket server;
  private final InetSocketAddress target;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicLong forwarded = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final Thread acceptor;
  private volatile boolean cut;
  private volatile boolean closed;

  /** Listens on {@code listenPort} (0: any free port) and forwards to 127.0.0.1:targetPort. */
  public TcpProxy(int listenPort, int targetPort) throws IOException {
    InetAddress lo = InetAddress.getLoopbackAddress();
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(lo, listenPort));
    this.target = new InetSocketAddress(lo, targetPort);
    this.acceptor = new Thread(this::acceptLoop, "proxy-" + port() + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  public boolean isCut() {
    return cut;
  }

  /** Bytes forwarded so far (both directions). */
  public long forwardedBytes() {
    return forwarded.get();
  }

  /** Connections refused while cut. */
  public long refusedConnections() {
    return refused.get();
  }

  /** Closes every open connection and refuses new ones until {@link #heal}. */
  public void cut() {
    cut = true;
    for (Socket s : sockets) {
      closeQuietly(s);
    }
  }

  public void heal() {
    cut = false;
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (closed) {
          return;
        }
        continue;
      }
      if (cut) {
        refused.incrementAndGet();
        try {
          client.setSoLinger(true, 0); // a reset, not a graceful close
        } catch (SocketException ignored) {
          // closing anyway
        }
        closeQuietly(client);
        continue;
      }
      Socket upstream = new Socket();
      try {
        upstream.connect(target, 1000);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
      } catch (IOException e) {
        closeQuietly(client);
        closeQuietly(upstream);
        continue;
      }
      sockets.add(client);
      sockets.add(upstream);
      if (cut) { // cut raced with this accept
        closeQuietly(client);
        closeQuietly(upstream);
      }
      pump(client, upstream, "up");
      pump(upstream, client, "down");
    }
  }

  private void pump(Socket from, Socket to, String direction) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[16384];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  if (cut) {
                    break; // drop: nothing crosses a cut
                  }
                  out.write(buf, 0, n);
                  forwarded.addAndGet(n);
                }
              } catch (IOException ignored) {
                // the connection ended (or was cut)
              } finally {
                closeQuietly(from);
                closeQuietly(to);
                sockets.remove(from);
                sockets.remove(to);
              }
            },
            "proxy-" + port() + "-" + direction);
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() {
    closed = true;
    cut();
    try {
      server.close();
    } catch (IOException ignored) {
      // already closed
    }
  }
}
