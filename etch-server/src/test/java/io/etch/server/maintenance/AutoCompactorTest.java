package io.etch.server.maintenance;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.server.config.EtchConfig;
import io.etch.storage.mvcc.EtcdError;
import io.etch.storage.mvcc.EtcdException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The compaction policies against a fake clock and a fake store: etcd's v3compactor rules. */
class AutoCompactorTest {
  /** A store whose revision the test moves; records the compactions asked for. */
  static final class FakeTarget implements AutoCompactor.Target {
    long revision = 1;
    long compacted;
    boolean leader = true;
    RuntimeException failWith;
    final List<Long> compactions = new ArrayList<>();

    @Override
    public long currentRevision() {
      return revision;
    }

    @Override
    public long compactRevision() {
      return compacted;
    }

    @Override
    public boolean isLeader() {
      return leader;
    }

    @Override
    public CompletableFuture<?> compact(long rev) {
      compactions.add(rev);
      if (failWith != null) {
        return CompletableFuture.failedFuture(failWith);
      }
      compacted = rev;
      return CompletableFuture.completedFuture(null);
    }
  }

  static final long MIN = Duration.ofMinutes(1).toNanos();

  long clock;
  FakeTarget target = new FakeTarget();

  AutoCompactor periodic(String retention) throws Exception {
    EtchConfig.AutoCompaction ac =
        new EtchConfig.AutoCompaction("periodic", Duration.parse("PT" + retention), 0);
    return AutoCompactor.create(ac, target, Duration.ofMinutes(5), () -> clock);
  }

  /** Advances the fake clock by one check interval, one write per interval, then checks. */
  void tick(AutoCompactor c) {
    clock += c.interval().toNanos();
    target.revision += 10;
    c.step(clock);
  }

  @Test
  void periodicWaitsTheWholeRetentionThenCompactsToTheRevisionOfThatLongAgo() throws Exception {
    AutoCompactor c = periodic("1H");
    assertThat(c.interval()).isEqualTo(Duration.ofMinutes(6));
    for (int i = 0; i < 9; i++) {
      tick(c);
    }
    assertThat(target.compactions).isEmpty(); // 54 minutes in
    tick(c); // 60 minutes: the revision sampled at start
    assertThat(target.compactions).containsExactly(1L);
    assertThat(clock).isEqualTo(60 * MIN);
  }

  @Test
  void periodicCompactsAgainEveryRetentionWithTheOldestSampleOfTheWindow() throws Exception {
    AutoCompactor c = periodic("1H");
    for (int i = 0; i < 20; i++) {
      tick(c);
    }
    // etcd keeps period/retry + 1 samples: at 120 min the oldest was taken at 54 min.
    assertThat(target.compactions).containsExactly(1L, 1L + 9 * 10);
  }

  @Test
  void periodicOverAnHourCompactsHourlyAfterTheFirstRetention() throws Exception {
    AutoCompactor c = periodic("3H");
    assertThat(c.interval()).isEqualTo(Duration.ofMinutes(6));
    for (int i = 0; i < 30; i++) {
      tick(c);
    }
    assertThat(target.compactions).containsExactly(1L); // at 180 minutes
    for (int i = 0; i < 10; i++) {
      tick(c);
    }
    assertThat(target.compactions).hasSize(2); // one hour later
    // The revision of about three hours before (31 samples window: 3h / 6 min + 1).
    assertThat(target.compactions.get(1)).isEqualTo(1L + 9 * 10);
  }

  @Test
  void periodicRetriesAFailedCompactionAtTheNextSample() throws Exception {
    AutoCompactor c = periodic("1H");
    target.failWith = new IllegalStateException("etcdserver: no leader");
    for (int i = 0; i < 10; i++) {
      tick(c);
    }
    assertThat(target.compactions).hasSize(1);
    target.failWith = null;
    tick(c);
    assertThat(target.compactions).hasSize(2);
    tick(c); // success: the next one waits the interval
    assertThat(target.compactions).hasSize(2);
  }

  @Test
  void periodicOnAFollowerNeverCompactsButKeepsSampling() throws Exception {
    AutoCompactor c = periodic("1H");
    target.leader = false;
    for (int i = 0; i < 15; i++) {
      tick(c);
    }
    assertThat(target.compactions).isEmpty();
    target.leader = true;
    tick(c);
    // The window moved on while paused: the revision of about an hour ago, not the start.
    assertThat(target.compactions).containsExactly(1L + 5 * 10);
  }

  @Test
  void periodicRetentionZeroDisablesAutoCompaction() {
    EtchConfig.AutoCompaction off = new EtchConfig.AutoCompaction("periodic", Duration.ZERO, 0);
    assertThat(AutoCompactor.create(off, target, Duration.ofMinutes(5), () -> clock)).isNull();
  }

  AutoCompactor revision(long keep) {
    return AutoCompactor.create(
        new EtchConfig.AutoCompaction("revision", Duration.ZERO, keep),
        target,
        Duration.ofMillis(50),
        () -> clock);
  }

  @Test
  void revisionModeKeepsTheLastNRevisionsAndChecksAtTheInjectedInterval() {
    AutoCompactor c = revision(100);
    assertThat(c.interval()).isEqualTo(Duration.ofMillis(50));
    target.revision = 100;
    c.step(clock);
    assertThat(target.compactions).isEmpty(); // nothing older than 100 revisions
    target.revision = 250;
    c.step(clock);
    assertThat(target.compactions).containsExactly(150L);
    c.step(clock); // no write since: etcd does not compact the same revision twice
    assertThat(target.compactions).containsExactly(150L);
    target.revision = 251;
    c.step(clock);
    assertThat(target.compactions).containsExactly(150L, 151L);
  }

  @Test
  void revisionModeOnAFollowerDoesNothing() {
    AutoCompactor c = revision(10);
    target.leader = false;
    target.revision = 500;
    c.step(clock);
    assertThat(target.compactions).isEmpty();
  }

  @Test
  void revisionAlreadyCompactedCountsAsDoneAsInEtcd() {
    AutoCompactor c = revision(10);
    target.revision = 50;
    target.failWith = new EtcdException(EtcdError.COMPACTED);
    c.step(clock);
    assertThat(target.compactions).containsExactly(40L);
    c.step(clock);
    assertThat(target.compactions).containsExactly(40L); // not retried
    target.failWith = new IllegalStateException("etcdserver: request timed out");
    target.revision = 60;
    c.step(clock);
    c.step(clock); // a real failure is retried
    assertThat(target.compactions).containsExactly(40L, 50L, 50L);
  }
}
