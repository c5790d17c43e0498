package io.etch.server.lock;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etch.server.EtchServer;
import io.etch.server.config.EtchConfig;
import io.etch.server.maintenance.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Locks through a follower of a three-member cluster: its Lock service's txns are forwarded through
 * raft, its reads pass the read barrier, and its watch hub wakes the waiters.
 */
class LockClusterTest {
  @TempDir Path dir;

  @Test
  void contendersThroughAFollowerNeverHoldTheLockTogether() throws Exception {
    int n = 3;
    List<Integer> client = new ArrayList<>();
    List<String> peers = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      client.add(TestServer.freePort());
      peers.add("m" + i + "=http://127.0.0.1:" + TestServer.freePort());
    }
    List<CompletableFuture<EtchServer>> starting = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String peer = peers.get(i).substring(peers.get(i).indexOf('=') + 1);
      EtchConfig c =
          EtchConfig.parse(
              new String[] {
                "--name=m" + i,
                "--data-dir=" + dir.resolve("m" + i),
                "--listen-client-urls=http://127.0.0.1:" + client.get(i),
                "--advertise-client-urls=http://127.0.0.1:" + client.get(i),
                "--listen-peer-urls=" + peer,
                "--initial-advertise-peer-urls=" + peer,
                "--initial-cluster=" + String.join(",", peers),
                "--heartbeat-interval=50",
                "--election-timeout=500"
              },
              Map.of());
      starting.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return EtchServer.start(c);
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    List<EtchServer> members = new ArrayList<>();
    try {
      for (CompletableFuture<EtchServer> f : starting) {
        members.add(f.get(60, TimeUnit.SECONDS));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (members.stream().noneMatch(m -> m.raft().isLeader())) {
        assertThat(System.nanoTime()).as("a leader").isLessThan(deadline);
        Thread.sleep(20);
      }
      int follower = members.get(0).raft().isLeader() ? 1 : 0;
      String url = "http://127.0.0.1:" + client.get(follower);
      assertThat(members.get(follower).raft().isLeader()).isFalse();

      Path log = dir.resolve("holders.log");
      Files.createFile(log);
      int rounds = 2;
      List<CompletableFuture<Void>> all = new ArrayList<>();
      all.add(
          CompletableFuture.runAsync(
              () -> {
                try {
                  for (int r = 0; r < rounds; r++) {
                    Process p =
                        Procs.etcdctl(
                            url,
                            null,
                            "lock",
                            "shared",
                            "--",
                            "sh",
                            "-c",
                            "echo 'start etcdctl' >> \"$1\"; sleep 0.2; echo 'end etcdctl' >> \"$1\"",
                            "sh",
                            log.toString());
                    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                    assertThat(p.exitValue()).isZero();
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }));
      for (int i = 0; i < 2; i++) {
        String id = "jetcd" + i;
        all.add(
            CompletableFuture.runAsync(
                () -> {
                  try (Client c = Client.builder().endpoints(url).build()) {
                    for (int r = 0; r < rounds; r++) {
                      long lease = c.getLeaseClient().grant(30).get().getID();
                      ByteSequence key =
                          c.getLockClient()
                              .lock(ByteSequence.from("shared", UTF_8), lease)
                              .get(60, TimeUnit.SECONDS)
                              .getKey();
                      Files.writeString(log, "start " + id + "\n", StandardOpenOption.APPEND);
                      Thread.sleep(200);
                      Files.writeString(log, "end " + id + "\n", StandardOpenOption.APPEND);
                      c.getLockClient().unlock(key).get();
                      c.getLeaseClient().revoke(lease).get();
                    }
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                }));
      }
      CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).get(120, TimeUnit.SECONDS);
      List<String> lines = Files.readAllLines(log);
      assertThat(lines).hasSize(3 * rounds * 2);
      for (int i = 0; i < lines.size(); i += 2) {
        assertThat(lines.get(i)).as("line %d of %s", i, lines).startsWith("start ");
        assertThat(lines.get(i + 1))
            .as("line %d of %s", i + 1, lines)
            .isEqualTo("end " + lines.get(i).substring("start ".length()));
      }
    } finally {
      for (EtchServer m : members) {
        m.close();
      }
      for (CompletableFuture<EtchServer> f : starting) {
        if (!f.isDone() || f.isCompletedExceptionally()) {
          continue;
        }
        f.join().close();
      }
    }
  }
}
