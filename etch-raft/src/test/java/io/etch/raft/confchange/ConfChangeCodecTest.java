package io.etch.raft.confchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.raft.ConfChange;
import io.etch.raft.ConfChange.ConfChangeSingle;
import io.etch.raft.ConfChangeTransition;
import io.etch.raft.ConfChangeType;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The conf change encoding stored in CONF_CHANGE entries: round trip and hostile input. */
class ConfChangeCodecTest {

  private static final List<ConfChange> SAMPLES =
      List.of(
          ConfChange.single(ConfChangeType.ADD_NODE, 1),
          ConfChange.single(
              ConfChangeType.ADD_LEARNER_NODE,
              Long.MAX_VALUE,
              "ctx".getBytes(StandardCharsets.UTF_8)),
          ConfChange.leaveJoint(),
          new ConfChange(
              ConfChangeTransition.JOINT_EXPLICIT,
              List.of(
                  new ConfChangeSingle(ConfChangeType.ADD_NODE, 4),
                  new ConfChangeSingle(ConfChangeType.REMOVE_NODE, 2),
                  new ConfChangeSingle(ConfChangeType.UPDATE_NODE, 3)),
              new byte[] {0, 1, 2}),
          new ConfChange(ConfChangeTransition.JOINT_IMPLICIT, List.of(), null));

  @Test
  void encodeDecodeRoundTrips() {
    for (ConfChange cc : SAMPLES) {
      assertThat(ConfChange.decode(cc.encode())).isEqualTo(cc);
    }
  }

  @Test
  void everyTruncationOfAValidEncodingIsRejectedWithIllegalArgument() {
    for (ConfChange cc : SAMPLES) {
      byte[] enc = cc.encode();
      for (int len = 0; len < enc.length; len++) {
        byte[] cut = Arrays.copyOf(enc, len);
        assertThatThrownBy(() -> ConfChange.decode(cut))
            .as("prefix of %d bytes of %s", len, cc)
            .isInstanceOf(IllegalArgumentException.class);
      }
    }
  }

  @Test
  void unknownVersionTransitionOrTypeIsRejected() {
    byte[] enc = ConfChange.single(ConfChangeType.ADD_NODE, 1).encode();
    byte[] badVersion = enc.clone();
    badVersion[0] = 2;
    byte[] badTransition = enc.clone();
    badTransition[1] = 9;
    byte[] negativeTransition = enc.clone();
    negativeTransition[1] = -1;
    byte[] badType = enc.clone();
    badType[6] = 7;
    for (byte[] b : List.of(badVersion, badTransition, negativeTransition, badType)) {
      assertThatThrownBy(() -> ConfChange.decode(b)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void absurdChangeCountsAreRejected() {
    for (int n : new int[] {-1, Integer.MIN_VALUE, 1000, Integer.MAX_VALUE}) {
      byte[] b = ByteBuffer.allocate(10).put((byte) 1).put((byte) 0).putInt(n).putInt(0).array();
      assertThatThrownBy(() -> ConfChange.decode(b)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void negativeContextLengthIsRejected() {
    byte[] b = ByteBuffer.allocate(10).put((byte) 1).put((byte) 0).putInt(0).putInt(-5).array();
    assertThatThrownBy(() -> ConfChange.decode(b)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nullAndEmptyInputAreRejected() {
    assertThatThrownBy(() -> ConfChange.decode(null)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ConfChange.decode(new byte[0]))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void hugeContextLengthIsRejectedWithoutAllocatingIt() {
    byte[] b =
        ByteBuffer.allocate(10)
            .put((byte) 1)
            .put((byte) 0)
            .putInt(0)
            .putInt(Integer.MAX_VALUE)
            .array();
    Throwable t = catchAnything(() -> ConfChange.decode(b));
    assertThat(t).isInstanceOf(IllegalArgumentException.class);
  }

  private static Throwable catchAnything(Runnable r) {
    try {
      r.run();
      return null;
    } catch (Throwable t) {
      return t;
    }
  }
}
