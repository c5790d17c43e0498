package io.etch.storage.wal;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.HardState;
import io.etch.raft.SnapshotMetadata;
import java.nio.ByteBuffer;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FrameTest {

  private static byte[] bytes(RecordBuffer b) {
    ByteBuffer f = b.flip();
    byte[] out = new byte[f.remaining()];
    f.get(out);
    return out;
  }

  @Test
  void recordsRoundTripThroughTheirFrames() {
    RecordBuffer b = new RecordBuffer();
    Entry e = Entries.entry(3, 17, 100);
    SnapshotMetadata meta =
        new SnapshotMetadata(
            new ConfState(Set.of(1L, 2L), Set.of(3L), Set.of(1L), Set.of(), true), 9, 2);
    int e0 = b.entry(e);
    int h0 = b.hardState(new HardState(3, 1, 16));
    int s0 = b.snapshot(meta, true);
    int m0 = b.metadata(new byte[] {7, 8});
    byte[] buf = bytes(b);

    assertThat(Frame.validLength(buf, e0, buf.length)).isEqualTo(h0 - e0);
    assertThat(RecordBuffer.decodeEntry(buf, e0 + Frame.HEADER_BYTES, h0 - e0 - Frame.HEADER_BYTES))
        .isEqualTo(e);
    assertThat(RecordBuffer.decodeHardState(buf, h0 + Frame.HEADER_BYTES))
        .isEqualTo(new HardState(3, 1, 16));
    assertThat(
            RecordBuffer.decodeSnapshot(buf, s0 + Frame.HEADER_BYTES, m0 - s0 - Frame.HEADER_BYTES))
        .isEqualTo(meta);
    assertThat(RecordBuffer.decodeSnapshotInstalled(buf, s0 + Frame.HEADER_BYTES)).isTrue();
    assertThat(Frame.validLength(buf, m0, buf.length)).isEqualTo(Frame.HEADER_BYTES + 2);
  }

  @Test
  void everySingleBitFlipIsDetected() {
    RecordBuffer b = new RecordBuffer();
    b.entry(Entries.entry(1, 5, 40));
    byte[] buf = bytes(b);
    for (int i = 0; i < buf.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        buf[i] ^= (byte) (1 << bit);
        assertThat(Frame.validLength(buf, 0, buf.length))
            .as("flip byte %d bit %d", i, bit)
            .isEqualTo(-1);
        buf[i] ^= (byte) (1 << bit);
      }
    }
    assertThat(Frame.validLength(buf, 0, buf.length)).isEqualTo(buf.length);
  }

  @Test
  void zeroFilledSpaceIsNeverARecord() {
    byte[] zeros = new byte[64];
    for (int p = 0; p < zeros.length; p++) {
      assertThat(Frame.validLength(zeros, p, zeros.length)).isEqualTo(-1);
    }
  }

  @Test
  void aShortFrameIsNotValid() {
    RecordBuffer b = new RecordBuffer();
    b.entry(Entries.entry(1, 5, 40));
    byte[] buf = bytes(b);
    for (int limit = 0; limit < buf.length; limit++) {
      assertThat(Frame.validLength(buf, 0, limit)).isEqualTo(-1);
    }
  }

  @Test
  void segmentNamesSortBySequenceAndCarryTheFirstIndex() {
    SegmentName n = new SegmentName(10, 0x1234);
    assertThat(n.fileName()).isEqualTo("000000000000000a-0000000000001234.wal");
    assertThat(SegmentName.parse(n.fileName())).contains(n);
    assertThat(SegmentName.parse("000000000000000a-0000000000001234.wal.tmp")).isEmpty();
    assertThat(SegmentName.parse("LOCK")).isEmpty();
  }
}
