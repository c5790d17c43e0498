package io.etch.storage.wal;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.raft.Entry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 at random moments: a child JVM ({@link WalCrashChild}) appends with group commit and
 * reports each index once its fsync returned; the parent SIGKILLs it, recovers the WAL, and checks
 * that every acknowledged entry is there with its content. A fsync acknowledgement of index i
 * covers every index before it (they were queued first), so the durable log is a prefix. {@code
 * -Detch.crash.rounds=N} runs more rounds (a soak).
 */
class WalCrashTest {
  static final int ROUNDS = Integer.getInteger("etch.crash.rounds", 50);

  @TempDir Path tmp;

  @Test
  void everyAcknowledgedEntrySurvivesSigkillAtRandomMoments() throws Exception {
    Path dir = tmp.resolve("wal");
    SplittableRandom random = new SplittableRandom(Long.getLong("etch.crash.seed", 42));
    long maxAcked = 0;
    int roundsWithAcks = 0;
    int roundsRepaired = 0;
    for (int round = 0; round < ROUNDS; round++) {
      Process child =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-XX:TieredStopAtLevel=1",
                  "-XX:+UseSerialGC",
                  "-Xmx64m",
                  "-Dlogback.configurationFile=nonexistent-so-defaults.xml",
                  "-cp",
                  System.getProperty("java.class.path"),
                  WalCrashChild.class.getName(),
                  dir.toString())
              .redirectErrorStream(true)
              .start();
      AtomicLong roundMax = new AtomicLong();
      CountDownLatch ready = new CountDownLatch(1);
      StringBuilder other = new StringBuilder();
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader in =
                    new BufferedReader(
                        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = in.readLine()) != null) {
                    if (line.startsWith("ack ")) {
                      long i = Long.parseLong(line.substring(4));
                      roundMax.accumulateAndGet(i, Math::max);
                    } else if (line.startsWith("ready ")) {
                      ready.countDown();
                    } else if (other.length() < 10_000) {
                      other.append(line).append('\n');
                    }
                  }
                } catch (IOException e) {
                  // the pipe closes when the child dies
                }
              });
      reader.start();
      assertThat(ready.await(60, TimeUnit.SECONDS))
          .as("child ready (round %d); output:\n%s", round, other)
          .isTrue();
      Thread.sleep(random.nextInt(250));
      child.destroyForcibly(); // SIGKILL on Linux
      child.waitFor(30, TimeUnit.SECONDS);
      reader.join(10_000);
      assertThat(other.toString()).as("child printed an error").doesNotContain("Exception");
      maxAcked = Math.max(maxAcked, roundMax.get());
      if (roundMax.get() > 0) {
        roundsWithAcks++;
      }

      Wal.Recovered r = Wal.open(dir, WalCrashChild.OPTIONS, 1 << 20);
      try (Wal wal = r.wal()) {
        if (r.truncatedBytes() > 0) {
          roundsRepaired++;
        }
        long snap = r.snapshot().index();
        List<Entry> entries = r.entries();
        long last = snap + entries.size();
        assertThat(last)
            .as("round %d: log ends at %d, but %d was acknowledged", round, last, maxAcked)
            .isGreaterThanOrEqualTo(maxAcked);
        for (int k = 0; k < entries.size(); k++) {
          assertThat(entries.get(k))
              .as("round %d entry %d", round, snap + 1 + k)
              .isEqualTo(Entries.entry(1, snap + 1 + k, WalCrashChild.ENTRY_BYTES));
        }
      }
    }
    assertThat(roundsWithAcks)
        .as("rounds in which the child acknowledged entries")
        .isGreaterThan(ROUNDS / 2);
    System.out.printf(
        "crash test: %d rounds, %d acknowledged entries, %d torn tails repaired%n",
        ROUNDS, maxAcked, roundsRepaired);
  }
}
