package io.etch.cli.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.cli.Etchctl;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etchctl's main commands against a real one-member etch over a socket, and its long-running
 * commands (watch, elect, lock) against etch, and elect/lock against etcd 3.4 too.
 */
class EtchctlAgainstEtchTest {
  @TempDir Path dir;

  record Result(int exit, String out, String err) {}

  static Result run(String endpoint, String stdin, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Etchctl.run(
            Map.of("ETCDCTL_ENDPOINTS", endpoint),
            new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)),
            out,
            err,
            args);
    return new Result(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** A long-running command in a thread; its output so far is readable while it runs. */
  static final class Background implements AutoCloseable {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final Thread thread;

    Background(String endpoint, String... args) {
      OutputStream sync =
          new OutputStream() {
            @Override
            public void write(int b) {
              synchronized (out) {
                out.write(b);
              }
            }

            @Override
            public void write(byte[] b, int off, int len) {
              synchronized (out) {
                out.write(b, off, len);
              }
            }
          };
      InputStream never = new ByteArrayInputStream(new byte[0]);
      thread =
          new Thread(
              () ->
                  Etchctl.run(
                      Map.of("ETCDCTL_ENDPOINTS", endpoint),
                      never,
                      sync,
                      new ByteArrayOutputStream(),
                      args));
      thread.setDaemon(true);
      thread.start();
    }

    String awaitOutput(String expected) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        String s;
        synchronized (out) {
          s = out.toString(StandardCharsets.UTF_8);
        }
        if (s.contains(expected) || System.nanoTime() > deadline) {
          return s;
        }
        Thread.sleep(20);
      }
    }

    @Override
    public void close() {
      thread.interrupt();
    }
  }

  @Test
  void mainCommandsWorkAgainstEtch() throws Exception {
    String ep = "127.0.0.1:" + RealEtcd.freePort();
    try (EtchServer server = startEtch(dir.resolve("etch"), ep)) {
      try (Background watch = new Background(ep, "watch", "w", "--prefix", "--prev-kv")) {
        Thread.sleep(300);
        assertThat(run(ep, null, "put", "w1", "a")).isEqualTo(new Result(0, "OK\n", ""));
        assertThat(run(ep, null, "put", "w1", "b").out()).isEqualTo("OK\n");
        assertThat(watch.awaitOutput("PUT\nw1\na\nw1\nb\n"))
            .isEqualTo("PUT\nw1\na\nPUT\nw1\na\nw1\nb\n");
      }
      assertThat(run(ep, null, "get", "w1", "-w", "json").out())
          .matches("\\{\"header\":\\{.*\"revision\":3,.*\"kvs\":\\[\\{\"key\":\"dzE=\".*\\}\n");
      assertThat(run(ep, null, "get", "--prefix", "w", "--print-value-only").out())
          .isEqualTo("b\n");
      assertThat(run(ep, "value(\"w1\") = \"b\"\n\nput t 1\nget w1\n\n", "txn").out())
          .isEqualTo("");
      Result txn = run(ep, "value(\"w1\") = \"b\"\n\nput t 1\nget w1\n\n\n", "txn");
      assertThat(txn.out()).isEqualTo("SUCCESS\n\nOK\n\nw1\nb\n");
      assertThat(run(ep, null, "del", "--prefix", "", "--prev-kv").out())
          .isEqualTo("2\nt\n1\nw1\nb\n");
      Result grant = run(ep, null, "lease", "grant", "60");
      assertThat(grant.out()).matches("lease [0-9a-f]{1,16} granted with TTL\\(60s\\)\n");
      String lease = grant.out().split(" ")[1];
      assertThat(run(ep, null, "put", "lk", "v", "--lease=" + lease).exit()).isZero();
      assertThat(run(ep, null, "lease", "timetolive", lease, "--keys").out())
          .matches(
              "lease "
                  + lease
                  + " granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[lk\\]\\)\n");
      assertThat(run(ep, null, "lease", "keep-alive", "--once", lease).out())
          .isEqualTo("lease " + lease + " keepalived with TTL(60)\n");
      assertThat(run(ep, null, "lease", "list").out()).isEqualTo("found 1 leases\n" + lease + "\n");
      assertThat(run(ep, null, "lease", "revoke", lease).out())
          .isEqualTo("lease " + lease + " revoked\n");
      assertThat(run(ep, null, "get", "lk").out()).isEmpty();
      assertThat(run(ep, null, "member", "list").out())
          .matches(
              "[0-9a-f]+, started, default, http://127.0.0.1:2380, http://" + ep + ", false\n");
      assertThat(run(ep, null, "endpoint", "status").out())
          .matches(ep + ", [0-9a-f]+, 3\\.\\d+\\.\\d+, .* k?B, true, false, \\d+, \\d+, \\d+, \n");
      assertThat(run(ep, null, "endpoint", "health").err())
          .matches(ep + " is healthy: successfully committed proposal: took = .*\n");
      assertThat(run(ep, null, "compaction", "2").out()).isEqualTo("compacted revision 2\n");
      assertThat(run(ep, null, "get", "w1", "--rev=1"))
          .isEqualTo(
              new Result(1, "", "Error: etcdserver: mvcc: required revision has been compacted\n"));
      assertThat(run(ep, null, "defrag").out())
          .isEqualTo("Finished defragmenting etcd member[" + ep + "]\n");
      assertThat(run(ep, null, "alarm", "list")).isEqualTo(new Result(0, "", ""));
      assertThat(run(ep, null, "user", "add", "root:pw").out()).isEqualTo("User root created\n");
      assertThat(run(ep, null, "user", "grant-role", "root", "root").exit()).isZero();
      assertThat(run(ep, null, "auth", "enable").out()).isEqualTo("Authentication Enabled\n");
      assertThat(run(ep, null, "get", "x"))
          .isEqualTo(new Result(1, "", "Error: etcdserver: user name is empty\n"));
      assertThat(run(ep, null, "--user=root:pw", "put", "x", "1").out()).isEqualTo("OK\n");
      assertThat(run(ep, null, "--user=root:pw", "auth", "disable").out())
          .isEqualTo("Authentication Disabled\n");
    }
  }

  /**
   * A watch outlives its server's restart, as etcdctl's does (clientv3 retries an Unavailable
   * stream and resumes after the last revision it saw): the put made before the watch is back comes
   * from history, and nothing is printed twice.
   */
  @Test
  void watchResumesAfterTheLastSeenRevisionWhenItsServerComesBack() throws Exception {
    String ep = "127.0.0.1:" + RealEtcd.freePort();
    Path data = dir.resolve("etch-restart");
    EtchServer server = startEtch(data, ep);
    try (Background watch = new Background(ep, "watch", "r")) {
      Thread.sleep(300);
      assertThat(run(ep, null, "put", "r", "1").exit()).isZero();
      assertThat(watch.awaitOutput("r\n1\n")).isEqualTo("PUT\nr\n1\n");
      server.close();
      Thread.sleep(300); // the watch's stream is broken and it retries meanwhile
      server = startEtch(data, ep);
      assertThat(run(ep, null, "put", "r", "2").exit()).isZero();
      assertThat(run(ep, null, "put", "r", "3").exit()).isZero();
      assertThat(watch.awaitOutput("r\n3\n")).isEqualTo("PUT\nr\n1\nPUT\nr\n2\nPUT\nr\n3\n");
      assertThat(watch.thread.isAlive()).isTrue();
    } finally {
      server.close();
    }
  }

  private static EtchServer startEtch(Path dataDir, String ep) throws Exception {
    return EtchServer.start(
        EtchConfig.parse(
            new String[] {
              "--data-dir=" + dataDir,
              "--listen-client-urls=http://" + ep,
              "--advertise-client-urls=http://" + ep,
              "--listen-peer-urls=http://127.0.0.1:" + RealEtcd.freePort(),
              "--heartbeat-interval=10",
              "--election-timeout=100"
            },
            Map.of()));
  }

  @Test
  void electCampaignsAndListenersSeeTheLeaderOnEtcd() throws Exception {
    try (RealEtcd etcd = RealEtcd.start(dir.resolve("etcd"))) {
      electAndLock(etcd.endpoint);
    }
  }

  @Test
  void electCampaignsAndListenersSeeTheLeaderOnEtch() throws Exception {
    String ep = "127.0.0.1:" + RealEtcd.freePort();
    try (EtchServer server = startEtch(dir.resolve("etch-elect"), ep)) {
      electAndLock(ep);
    }
  }

  private void electAndLock(String endpoint) throws Exception {
    try (Background listener = new Background(endpoint, "elect", "-l", "e1");
        Background leader = new Background(endpoint, "elect", "e1", "first")) {
      String won = leader.awaitOutput("first\n");
      assertThat(won).matches("e1/[0-9a-f]{1,16}\nfirst\n");
      assertThat(listener.awaitOutput("first\n")).isEqualTo(won);
      // A lock is free once its holder's command ended.
      assertThat(run(endpoint, null, "lock", "l1", "true").exit()).isZero();
      assertThat(run(endpoint, null, "lock", "l1", "printenv", "ETCD_LOCK_KEY").out())
          .matches("l1/[0-9a-f]{1,16}\n");
    }
  }
}
