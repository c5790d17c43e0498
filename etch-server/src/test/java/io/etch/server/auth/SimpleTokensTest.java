package io.etch.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SimpleTokensTest {
  final AtomicLong now = new AtomicLong();
  final SimpleTokens tokens = new SimpleTokens(TimeUnit.SECONDS.toNanos(300), now::get);

  @Test
  void aTokenLivesForItsTtlSinceLastUse() {
    String t = tokens.assign("abcdefghijklmnop", 7, "alice", 3);
    assertThat(t).isEqualTo("abcdefghijklmnop.7");
    assertThat(tokens.info(t, 9)).isEqualTo(new AuthInfo("alice", 9));
    now.addAndGet(TimeUnit.SECONDS.toNanos(299));
    assertThat(tokens.info(t, 9)).as("used again: TTL starts over").isNotNull();
    now.addAndGet(TimeUnit.SECONDS.toNanos(299));
    assertThat(tokens.info(t, 9)).isNotNull();
    now.addAndGet(TimeUnit.SECONDS.toNanos(301));
    assertThat(tokens.info(t, 9)).isNull();
  }

  @Test
  void invalidatingAUserEndsItsTokensOnly() {
    String a = tokens.assign("aaaaaaaaaaaaaaaa", 1, "alice", 1);
    String b = tokens.assign("bbbbbbbbbbbbbbbb", 2, "bob", 1);
    tokens.invalidateUser("alice");
    assertThat(tokens.info(a, 1)).isNull();
    assertThat(tokens.info(b, 1)).isNotNull();
  }

  @Test
  void aTokenFromAnEntryNotYetAppliedHereIsWaitedFor() throws Exception {
    AtomicLong applied = new AtomicLong(5);
    tokens.appliedIndex(applied::get);
    CompletableFuture<AuthInfo> check =
        CompletableFuture.supplyAsync(() -> tokens.info("abcdefghijklmnop.10", 4));
    Thread.sleep(100);
    assertThat(check).isNotDone();
    tokens.assign("abcdefghijklmnop", 10, "alice", 4);
    applied.set(10);
    assertThat(check.get(5, TimeUnit.SECONDS)).isEqualTo(new AuthInfo("alice", 4));
  }

  @Test
  void unknownOrMalformedTokensAreRefusedWithoutWaiting() {
    tokens.appliedIndex(() -> 100);
    long start = System.nanoTime();
    assertThat(tokens.info("abcdefghijklmnop.50", 1)).as("already applied here").isNull();
    assertThat(tokens.info("garbage", 1)).isNull();
    assertThat(tokens.info("short.999999", 1)).isNull();
    assertThat(tokens.info("abcdefghijklmnop.x", 1)).isNull();
    assertThat(System.nanoTime() - start).isLessThan(TimeUnit.MILLISECONDS.toNanos(500));
    assertThat(SimpleTokens.indexOf("abcdefghijklmnop.12")).isEqualTo(12);
    assertThat(SimpleTokens.indexOf("abcdefghijklmnop.99999999999999999999999")).isEqualTo(-1);
  }
}
