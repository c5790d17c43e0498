package io.etch.storage.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.etch.raft.Entry;
import io.etch.raft.HardState;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random damage to a WAL of several segments: bit flips, truncations and zeroed sectors.
 * After each, recovery must either succeed with every entry written before the damaged point (and
 * every entry at all unless the damage is in the last segment), or fail with a {@link
 * WalCorruptionException} naming the damaged file and an offset at or before the damage.
 */
class WalCorruptionTest {
  static final Wal.Options OPTIONS = new Wal.Options(16 * 1024);
  static final int ROUNDS = Integer.getInteger("etch.corruption.rounds", 200);

  @TempDir Path tmp;

  /** Where each entry's record lies: segment seq and [start, end). */
  record Placed(Entry entry, long seq, long start, long end) {}

  private final List<Placed> placed = new ArrayList<>();
  private Path pristine;

  @BeforeEach
  void writeWal() throws IOException {
    pristine = tmp.resolve("pristine");
    try (Wal wal = Wal.create(pristine, WalTest.META, WalTest.BOOT, OPTIONS)) {
      long i = 1;
      SplittableRandom r = new SplittableRandom(7);
      while (i < 600) {
        int n = 1 + r.nextInt(8);
        List<Entry> batch = Entries.range(1, i, i + n - 1);
        Wal.Appended a = wal.save(new HardState(1, 1, i), batch, true);
        for (int k = 0; k < n; k++) {
          Entry e = batch.get(k);
          long start = a.entryOffsets()[k];
          placed.add(
              new Placed(
                  e, a.segmentSeq(), start, start + Frame.HEADER_BYTES + 17 + e.data().length));
        }
        i += n;
      }
    }
    assertThat(segments(pristine)).hasSizeGreaterThan(4);
  }

  enum Damage {
    FLIP,
    TRUNCATE,
    ZERO_SECTOR
  }

  @Test
  void bitFlipsAreTruncatedOnlyAtTheTailOrReportedWithFileAndOffset() throws IOException {
    run(Damage.FLIP, 11);
  }

  @Test
  void truncatedSegmentsAreReportedAndLoseNothingBeforeTheCut() throws IOException {
    run(Damage.TRUNCATE, 12);
  }

  @Test
  void zeroedSectorsLoseNothingBeforeThem() throws IOException {
    run(Damage.ZERO_SECTOR, 13);
  }

  private void run(Damage damage, long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    int truncatedTails = 0;
    int reported = 0;
    for (int round = 0; round < ROUNDS; round++) {
      Path dir = tmp.resolve(damage + "-" + round);
      copy(pristine, dir);
      List<Path> files = segments(dir);
      // A quarter of the rounds aim at the tail (the last entry and the hard state after it).
      boolean aimAtTail = random.nextInt(4) == 0;
      int fileIdx = aimAtTail ? files.size() - 1 : random.nextInt(files.size());
      Path file = files.get(fileIdx);
      long seq = SegmentName.parse(file.getFileName().toString()).orElseThrow().seq();
      boolean lastSegment = fileIdx == files.size() - 1;
      byte[] bytes = Files.readAllBytes(file);
      int dataEnd = bytes.length;
      while (dataEnd > 0 && bytes[dataEnd - 1] == 0) {
        dataEnd--;
      }
      // Mostly inside the records; sometimes in the preallocated zeros after them.
      long tailStart = placed.get(placed.size() - 1).start();
      long at;
      if (aimAtTail) {
        at = tailStart + random.nextInt((int) (dataEnd - tailStart));
      } else if (random.nextInt(10) == 0 && bytes.length > dataEnd) {
        at = dataEnd + random.nextInt(bytes.length - dataEnd);
      } else {
        at = random.nextInt(dataEnd);
      }
      String what = damage + " at " + file.getFileName() + ":" + at + " (round " + round + ")";
      switch (damage) {
        case FLIP -> bytes[(int) at] ^= (byte) (1 << random.nextInt(8));
        case TRUNCATE -> bytes = java.util.Arrays.copyOf(bytes, (int) at);
        case ZERO_SECTOR -> {
          at = at & ~511L;
          java.util.Arrays.fill(bytes, (int) at, (int) Math.min(bytes.length, at + 512), (byte) 0);
        }
      }
      Files.write(file, bytes);

      long damagedAt = at;
      long intactBefore =
          placed.stream().filter(p -> p.seq < seq || (p.seq == seq && p.end <= damagedAt)).count();
      try {
        Wal.Recovered r = Wal.open(dir, OPTIONS, 1 << 20);
        List<Entry> got;
        try (Wal wal = r.wal()) {
          got = r.entries();
        }
        if (r.truncatedBytes() > 0) {
          truncatedTails++;
        }
        assertThat(got.size()).as(what).isGreaterThanOrEqualTo((int) intactBefore);
        if (!lastSegment) {
          assertThat(got.size()).as(what).isEqualTo(placed.size());
        }
        for (int k = 0; k < got.size(); k++) {
          assertThat(got.get(k)).as(what).isEqualTo(placed.get(k).entry());
        }
        if (got.size() < placed.size()) {
          // The repaired WAL opens cleanly again and takes new entries where the tail was cut.
          Wal.Recovered again = Wal.open(dir, OPTIONS, 1 << 20);
          try (Wal wal = again.wal()) {
            assertThat(again.truncatedBytes()).as(what).isZero();
            assertThat(again.entries()).as(what).hasSize(got.size());
            wal.save(null, List.of(Entries.entry(2, got.size() + 1, 10)), true);
          }
        }
      } catch (WalCorruptionException e) {
        reported++;
        assertThat(e.file()).as(what).isEqualTo(file);
        assertThat(e.offset()).as(what).isLessThanOrEqualTo(Math.max(at, 0));
        assertThat(e.getMessage()).as(what).contains(file.toString()).contains("offset");
      } catch (IOException e) {
        fail(what + ": unexpected " + e, e);
      }
    }
    // The seeds must exercise both outcomes, or the test proves little. A segment cut shorter
    // than its preallocated length is always reported: the file lost bytes a write never tears.
    if (damage != Damage.TRUNCATE) {
      assertThat(truncatedTails).as("rounds repaired as torn tails").isPositive();
    }
    assertThat(reported).as("rounds reported as corruption").isPositive();
  }

  static List<Path> segments(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.toString().endsWith(".wal")).sorted().toList();
    }
  }

  static void copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    for (Path f : segments(from)) {
      Files.copy(f, to.resolve(f.getFileName()));
    }
  }

  static void overwrite(Path file, long at, byte[] bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(bytes), at);
    }
  }
}
