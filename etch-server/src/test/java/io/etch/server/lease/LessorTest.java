package io.etch.server.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.storage.lease.LeaseRecord;
import io.etch.storage.mvcc.EtcdError;
import io.etch.storage.mvcc.EtcdException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The lessor's rules on a manual clock: TTLs, primary-only expiry, promotion, renewal. */
class LessorTest {
  long now = 1_000_000_000L;
  final Lessor lessor = new Lessor(2, () -> now);

  void advanceSeconds(double s) {
    now += (long) (s * TimeUnit.SECONDS.toNanos(1));
  }

  @Test
  void minimumTtlIsOneAndAHalfElectionTimeoutsRoundedUpToSeconds() {
    // etcd's defaults (100 ms heartbeat, 10 ticks): 1.5 s -> 2 s, which etcd 3.4 grants for TTL 1.
    assertThat(Lessor.minTtl(10, 100)).isEqualTo(2);
    assertThat(Lessor.minTtl(10, 10)).isEqualTo(1); // 150 ms
    assertThat(Lessor.minTtl(7, 1000)).isEqualTo(10); // (3*7)/2 = 10 ticks, integer division
    assertThat(Lessor.minTtl(20, 100)).isEqualTo(3);
  }

  @Test
  void grantRaisesTtlBelowTheMinimum() {
    assertThat(lessor.grant(1, 1)).isEqualTo(2);
    assertThat(lessor.grant(2, 0)).isEqualTo(2);
    assertThat(lessor.grant(3, -5)).isEqualTo(2);
    assertThat(lessor.grant(4, 7)).isEqualTo(7);
    assertThat(lessor.record(1)).isEqualTo(new LeaseRecord(1, 2, 0));
  }

  @Test
  void grantRejectsTooLargeTtlDuplicateIdAndNoLease() {
    assertThat(lessor.grant(5, Lessor.MAX_TTL)).isEqualTo(Lessor.MAX_TTL);
    assertThatThrownBy(() -> lessor.grant(6, Lessor.MAX_TTL + 1))
        .isInstanceOfSatisfying(
            EtcdStatusException.class,
            e -> assertThat(e.status()).isEqualTo(EtcdStatus.LEASE_TTL_TOO_LARGE));
    assertThatThrownBy(() -> lessor.grant(5, 10))
        .isInstanceOfSatisfying(
            EtcdStatusException.class,
            e -> assertThat(e.status()).isEqualTo(EtcdStatus.LEASE_EXIST));
    assertThatThrownBy(() -> lessor.grant(Lessor.NO_LEASE, 10))
        .isInstanceOfSatisfying(
            EtcdException.class, e -> assertThat(e.error()).isEqualTo(EtcdError.LEASE_NOT_FOUND));
    assertThat(lessor.leases()).containsExactly(5L);
  }

  @Test
  void leasesNeverExpireOnAFollower() {
    lessor.grant(1, 5);
    advanceSeconds(100);
    assertThat(lessor.expired(10)).isEmpty();
    assertThat(lessor.renew(1)).isCompletedExceptionally();
  }

  @Test
  void primaryReportsLeasesPastTheirTtlInExpiryOrder() {
    lessor.promote(0);
    lessor.grant(1, 5);
    lessor.grant(2, 3);
    lessor.grant(3, 60);
    advanceSeconds(2.9);
    assertThat(lessor.expired(10)).isEmpty();
    advanceSeconds(0.2);
    assertThat(lessor.expired(10)).containsExactly(2L);
    advanceSeconds(2);
    assertThat(lessor.expired(10)).containsExactly(1L);
    assertThat(lessor.leases()).containsExactly(2L, 1L, 3L);
  }

  @Test
  void expiredLeaseIsReportedAgainOnlyAfterTheRetryInterval() {
    lessor.promote(0);
    lessor.grant(1, 2);
    lessor.grant(2, 2);
    advanceSeconds(3);
    assertThat(lessor.expired(1)).hasSize(1); // rate limit: one per call
    assertThat(lessor.expired(10)).hasSize(1);
    assertThat(lessor.expired(10)).isEmpty(); // both proposed; their revocations are in flight
    advanceSeconds(3.1); // revocation lost: propose again
    assertThat(lessor.expired(10)).containsExactlyInAnyOrder(1L, 2L);
    lessor.revoke(1);
    advanceSeconds(3.1);
    assertThat(lessor.expired(10)).containsExactly(2L);
  }

  @Test
  void promotionRestartsEveryLeaseFromItsFullTtlPlusTheExtension() {
    lessor.promote(0);
    lessor.grant(1, 10);
    advanceSeconds(9);
    assertThat(lessor.timeToLive(1, false).remaining()).isEqualTo(1);
    lessor.demote();
    advanceSeconds(30); // no leader for a while: nothing expires
    lessor.promote(TimeUnit.SECONDS.toNanos(1));
    assertThat(lessor.timeToLive(1, false).remaining()).isEqualTo(11);
    advanceSeconds(10.5);
    assertThat(lessor.expired(10)).isEmpty();
    advanceSeconds(1);
    assertThat(lessor.expired(10)).containsExactly(1L);
  }

  @Test
  void recoveredLeasesGetTheirKeysBackAndExpireOnlyAfterPromotion() {
    lessor.recover(
        List.of(new LeaseRecord(7, 5, 0), new LeaseRecord(8, 60, 0)),
        Map.of(7L, List.of("b".getBytes(), "a".getBytes()), 99L, List.of("orphan".getBytes())));
    assertThat(lessor.timeToLive(7, true).keys())
        .containsExactly(ByteString.copyFromUtf8("a"), ByteString.copyFromUtf8("b"));
    assertThat(lessor.exists(99)).isFalse();
    advanceSeconds(100);
    assertThat(lessor.expired(10)).isEmpty();
    lessor.promote(0);
    assertThat(lessor.timeToLive(7, false).remaining()).isEqualTo(5);
  }

  @Test
  void checkpointedRemainingTtlIsWhatPromotionRestoresUntilARenewalClearsIt() throws Exception {
    lessor.grant(1, 60);
    assertThat(lessor.checkpoint(1, 20)).isTrue();
    assertThat(lessor.checkpoint(2, 20)).isFalse();
    assertThat(lessor.record(1)).isEqualTo(new LeaseRecord(1, 60, 20));
    lessor.promote(0);
    assertThat(lessor.timeToLive(1, false).remaining()).isEqualTo(20);
    Lessor.Renewal r = lessor.renew(1).get();
    assertThat(r).isEqualTo(new Lessor.Renewal(60, true));
    assertThat(lessor.timeToLive(1, false).remaining()).isEqualTo(60);
    assertThat(lessor.renew(1).get().clearCheckpoint()).isFalse();
  }

  @Test
  void renewalRestartsTheTtlFromNow() throws Exception {
    lessor.promote(0);
    lessor.grant(1, 4);
    advanceSeconds(3);
    assertThat(lessor.renew(1).get().ttl()).isEqualTo(4);
    advanceSeconds(3);
    assertThat(lessor.expired(10)).isEmpty();
    assertThat(lessor.timeToLive(1, false).remaining()).isEqualTo(1);
  }

  @Test
  void renewingAnExpiredLeaseWaitsForItsRevocationThenFailsNotFound() {
    lessor.promote(0);
    lessor.grant(1, 2);
    advanceSeconds(2.5);
    CompletableFuture<Lessor.Renewal> f = lessor.renew(1);
    assertThat(f).isNotDone();
    lessor.revoke(1);
    assertThatThrownBy(f::get)
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(
            EtcdException.class, e -> assertThat(e.error()).isEqualTo(EtcdError.LEASE_NOT_FOUND));
  }

  @Test
  void renewingAnExpiredLeaseFailsAsNotPrimaryWhenDemoted() {
    lessor.promote(0);
    lessor.grant(1, 2);
    advanceSeconds(2.5);
    CompletableFuture<Lessor.Renewal> f = lessor.renew(1);
    lessor.demote();
    assertThatThrownBy(f::get).cause().isInstanceOf(Lessor.NotPrimaryException.class);
  }

  @Test
  void renewingAnExpiredLeaseFailsAsNotPrimaryWhenPromotedAgain() {
    lessor.promote(0);
    lessor.grant(1, 2);
    advanceSeconds(2.5);
    CompletableFuture<Lessor.Renewal> f = lessor.renew(1);
    lessor.promote(0); // a new term, no demotion: the lease runs again and is never revoked
    assertThat(lessor.expired(10)).isEmpty();
    assertThatThrownBy(f::get).cause().isInstanceOf(Lessor.NotPrimaryException.class);
  }

  @Test
  void renewingAnUnknownLeaseFailsNotFound() {
    lessor.promote(0);
    assertThatThrownBy(() -> lessor.renew(42).get())
        .cause()
        .isInstanceOfSatisfying(
            EtcdException.class, e -> assertThat(e.error()).isEqualTo(EtcdError.LEASE_NOT_FOUND));
    assertThat(lessor.timeToLive(42, true)).isNull();
  }

  @Test
  void attachAndDetachFollowTheLeaseUntilItIsRevoked() {
    ByteString k = ByteString.copyFromUtf8("k");
    lessor.grant(1, 10);
    lessor.attach(1, k);
    lessor.attach(2, k); // no such lease: ignored
    assertThat(lessor.keys(1)).containsExactly(k);
    lessor.detach(1, k);
    assertThat(lessor.keys(1)).isEmpty();
    lessor.revoke(1);
    assertThat(lessor.exists(1)).isFalse();
    assertThatThrownBy(() -> lessor.revoke(1)).isInstanceOf(EtcdException.class);
  }
}
