package io.etch.storage.wal;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A segment's file name: {@code <seq>-<index>.wal} in 16 hex digits each, so names sort by sequence
 * and tell the index of the first entry written after the segment was cut (the log's last index + 1
 * at that moment).
 */
record SegmentName(long seq, long firstIndex) implements Comparable<SegmentName> {
  static final String SUFFIX = ".wal";

  String fileName() {
    return String.format("%016x-%016x%s", seq, firstIndex, SUFFIX);
  }

  Path in(Path dir) {
    return dir.resolve(fileName());
  }

  static Optional<SegmentName> parse(String fileName) {
    if (fileName.length() != 33 + SUFFIX.length()
        || !fileName.endsWith(SUFFIX)
        || fileName.charAt(16) != '-') {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new SegmentName(
              Long.parseUnsignedLong(fileName.substring(0, 16), 16),
              Long.parseUnsignedLong(fileName.substring(17, 33), 16)));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  @Override
  public int compareTo(SegmentName o) {
    return Long.compare(seq, o.seq);
  }
}
