package io.etch.jepsen.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TcpProxyTest {
  ServerSocket echo;
  TcpProxy proxy;

  @BeforeEach
  void start() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t =
        new Thread(
            () -> {
              while (!echo.isClosed()) {
                try {
                  Socket s = echo.accept();
                  Thread c =
                      new Thread(
                          () -> {
                            try (s;
                                InputStream in = s.getInputStream();
                                OutputStream out = s.getOutputStream()) {
                              in.transferTo(out);
                            } catch (IOException ignored) {
                              // closed
                            }
                          });
                  c.setDaemon(true);
                  c.start();
                } catch (IOException e) {
                  return;
                }
              }
            });
    t.setDaemon(true);
    t.start();
    proxy = new TcpProxy(0, echo.getLocalPort());
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  static String roundTrip(Socket s, String msg) throws IOException {
    s.getOutputStream().write(msg.getBytes());
    byte[] buf = new byte[msg.length()];
    new DataInputStream(s.getInputStream()).readFully(buf);
    return new String(buf);
  }

  Socket dial() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    s.setSoTimeout(2000);
    return s;
  }

  @Test
  void forwardsBothWaysUntilCutThenRefusesUntilHealed() throws Exception {
    try (Socket s = dial()) {
      assertThat(roundTrip(s, "hello")).isEqualTo("hello");
      proxy.cut();
      // The open connection is closed: a read ends or fails.
      assertThatThrownBy(() -> roundTrip(s, "again")).isInstanceOf(IOException.class);
    }
    try (Socket s = dial()) { // the TCP handshake completes, then the proxy resets it
      assertThatThrownBy(() -> roundTrip(s, "cut")).isInstanceOf(IOException.class);
    }
    assertThat(proxy.refusedConnections()).isGreaterThanOrEqualTo(1);
    proxy.heal();
    try (Socket s = dial()) {
      assertThat(roundTrip(s, "healed")).isEqualTo("healed");
    }
    assertThat(proxy.forwardedBytes()).isGreaterThanOrEqualTo(2 * "hello".length());
  }
}
