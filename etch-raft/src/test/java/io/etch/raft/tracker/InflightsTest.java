package io.etch.raft.tracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class InflightsTest {

  @Test
  void fillsUpToCapacityThenRefusesMore() {
    Inflights in = new Inflights(3, 0);
    in.add(1, 10);
    in.add(2, 10);
    assertThat(in.full()).isFalse();
    in.add(3, 10);
    assertThat(in.full()).isTrue();
    assertThat(in.count()).isEqualTo(3);
    assertThatThrownBy(() -> in.add(4, 10)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void freeLeFreesEveryMessageUpToTheIndex() {
    Inflights in = new Inflights(10, 0);
    for (long i = 1; i <= 5; i++) {
      in.add(i * 10, 1);
    }
    in.freeLE(5); // below the first: nothing
    assertThat(in.count()).isEqualTo(5);
    in.freeLE(25);
    assertThat(in.count()).isEqualTo(3);
    in.freeLE(30);
    assertThat(in.count()).isEqualTo(2);
    in.freeLE(1000);
    assertThat(in.count()).isZero();
  }

  @Test
  void wrapsAroundTheRingBuffer() {
    Inflights in = new Inflights(4, 0);
    for (long i = 1; i <= 4; i++) {
      in.add(i, 1);
    }
    in.freeLE(3); // start moves to slot 3
    in.add(5, 1);
    in.add(6, 1);
    in.add(7, 1); // wrapped into slots 0..2
    assertThat(in.full()).isTrue();
    in.freeLE(5);
    assertThat(in.count()).isEqualTo(2);
    in.freeLE(6);
    assertThat(in.count()).isEqualTo(1);
    in.freeFirstOne();
    assertThat(in.count()).isZero();
    assertThat(in.full()).isFalse();
  }

  @Test
  void freeFirstOneFreesOnlyTheOldest() {
    Inflights in = new Inflights(3, 0);
    in.add(4, 1);
    in.add(8, 1);
    in.add(9, 1);
    in.freeFirstOne();
    assertThat(in.count()).isEqualTo(2);
    assertThat(in.full()).isFalse();
    in.freeLE(7); // 8 is now the oldest; nothing at or below 7
    assertThat(in.count()).isEqualTo(2);
  }

  @Test
  void freeFirstOneOnEmptyDoesNothing() {
    Inflights in = new Inflights(2, 0);
    in.freeFirstOne();
    assertThat(in.count()).isZero();
  }

  @Test
  void byteLimitMakesTheWindowFullBeforeTheCount() {
    Inflights in = new Inflights(10, 100);
    in.add(1, 60);
    assertThat(in.full()).isFalse();
    in.add(2, 40);
    assertThat(in.full()).isTrue(); // 100 bytes in flight reach the limit
    in.freeLE(1);
    assertThat(in.full()).isFalse(); // freed bytes count again
    in.add(3, 59);
    assertThat(in.full()).isFalse();
    in.add(4, 1);
    assertThat(in.full()).isTrue();
  }

  @Test
  void resetEmptiesTheWindow() {
    Inflights in = new Inflights(2, 10);
    in.add(1, 10);
    assertThat(in.full()).isTrue();
    in.reset();
    assertThat(in.full()).isFalse();
    in.add(2, 1);
    in.add(3, 1);
    in.reset();
    assertThat(in.count()).isZero();
    assertThat(in.full()).isFalse();
  }

  @Test
  void copyIsIndependent() {
    Inflights in = new Inflights(3, 0);
    in.add(1, 1);
    Inflights c = in.copy();
    c.add(2, 1);
    in.freeLE(1);
    assertThat(in.count()).isZero();
    assertThat(c.count()).isEqualTo(2);
  }
}
