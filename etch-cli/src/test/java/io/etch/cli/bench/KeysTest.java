package io.etch.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KeysTest {
  @Test
  void keysAreZeroPaddedDecimalsOfTheKeySize() {
    Keys k = new Keys(8, 100_000);
    assertThat(k.key(0).toStringUtf8()).isEqualTo("00000000");
    assertThat(k.key(99_999).toStringUtf8()).isEqualTo("00099999");
  }

  @Test
  void aKeySpaceTooLargeForTheKeySizeIsRefused() {
    assertThat(Keys.fits(2, 100)).isTrue(); // 0..99
    assertThat(Keys.fits(2, 101)).isFalse(); // 100 needs 3 digits
    assertThatThrownBy(() -> new Keys(2, 101)).isInstanceOf(IllegalArgumentException.class);
  }
}
