package io.etch.storage.wal;

import io.etch.raft.Entry;
import io.etch.raft.HardState;
import io.etch.raft.SnapshotMetadata;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recovery: replays every segment in order, checking every CRC, and rebuilds the raft log.
 *
 * <p>How damage is told apart. Segments before the last were fsynced whole before the next one was
 * created, so in them any bad record is corruption, and the bytes after the last record must be the
 * zeros of preallocation; the next segment's name (last index + 1 at the cut) must match the log
 * replayed so far, which catches a lost final record. In the last segment a bad record is a torn
 * tail only if no valid record lies anywhere after it: a crash can tear only the batch being
 * written, so a valid record after the damage proves the damage sits before the tail. A torn tail
 * is zeroed (the segment keeps its preallocated length) and fsynced.
 *
 * <p>Single use, confined to the opening thread.
 */
final class WalReader {
  private static final Logger LOG = LoggerFactory.getLogger(WalReader.class);

  /** What the WAL holds. {@code lastSegmentEnd} is where the next record goes. */
  record Replay(
      byte[] metadata,
      HardState hardState,
      SnapshotMetadata snapshot,
      EntryLog log,
      long lastSegmentEnd,
      long truncatedBytes) {}

  private final Path dir;
  private final List<SegmentName> segments;
  private byte[] metadata;
  private HardState hardState = HardState.EMPTY;
  private SnapshotMetadata snapshot;
  private final EntryLog log;
  private long truncatedBytes;
  private long preallocated; // of the segment being replayed, -1 until its SEGMENT record

  private WalReader(Path dir, List<SegmentName> segments, long cacheBytes) {
    this.dir = dir;
    this.segments = segments;
    long start = segments.get(0).firstIndex() - 1;
    this.log = new EntryLog(start, EntryLog.UNKNOWN_TERM, cacheBytes);
  }

  static Replay replay(Path dir, List<SegmentName> segments, long cacheBytes) throws IOException {
    return new WalReader(dir, segments, cacheBytes).run();
  }

  private Replay run() throws IOException {
    long end = 0;
    for (int i = 0; i < segments.size(); i++) {
      SegmentName seg = segments.get(i);
      Path file = seg.in(dir);
      if (i > 0 && seg.seq() != segments.get(i - 1).seq() + 1) {
        throw new WalCorruptionException(
            file, 0, "segment " + (segments.get(i - 1).seq() + 1) + " is missing");
      }
      boolean last = i == segments.size() - 1;
      end = replaySegment(file, seg.seq(), last);
      if (!last) {
        long expected = segments.get(i + 1).firstIndex() - 1;
        if (log.lastIndex() != expected) {
          throw new WalCorruptionException(
              file,
              end,
              "log ends at index "
                  + log.lastIndex()
                  + " but the next segment was cut after index "
                  + expected
                  + " (records lost at the end of this segment)");
        }
      }
    }
    if (snapshot == null) {
      throw new WalCorruptionException(
          segments.get(0).in(dir), 0, "no snapshot marker (every segment starts with one)");
    }
    finishAtSnapshot();
    return new Replay(metadata, hardState, snapshot, log, end, truncatedBytes);
  }

  /** Raft restarts from the newest snapshot: entries at or below it are dropped. */
  private void finishAtSnapshot() throws WalCorruptionException {
    long s = snapshot.index();
    long t = snapshot.term();
    Path first = segments.get(0).in(dir);
    if (log.offset() > s) {
      throw new WalCorruptionException(
          first,
          0,
          "entries (" + s + ", " + log.offset() + "] after snapshot " + s + " are missing");
    }
    if (s > log.lastIndex()) {
      log.reset(s, t);
    } else if (s == log.offset()) {
      log.setOffsetTerm(t);
    } else if (log.term(s) != t) {
      throw new WalCorruptionException(
          first, 0, "entry " + s + " has term " + log.term(s) + " but its snapshot marker " + t);
    } else {
      log.compact(s, t);
    }
  }

  /** Replays one segment; returns the offset just past its last valid record. */
  private long replaySegment(Path file, long seq, boolean last) throws IOException {
    byte[] buf = Files.readAllBytes(file);
    int limit = buf.length;
    int pos = 0;
    preallocated = -1;
    while (pos < limit) {
      int len = Frame.validLength(buf, pos, limit);
      if (len < 0) {
        break;
      }
      apply(file, seq, buf, pos, len);
      pos += len;
    }
    if (preallocated > limit) {
      throw new WalCorruptionException(
          file,
          limit,
          "segment is "
              + limit
              + " bytes but was preallocated to "
              + preallocated
              + " (truncated)");
    }
    if (pos == limit || isZero(buf, pos, limit)) {
      return pos;
    }
    if (!last) {
      throw new WalCorruptionException(
          file, pos, "bad record in a sealed segment (not the last one)");
    }
    int next = nextValidFrame(buf, pos + 1, limit);
    if (next >= 0) {
      throw new WalCorruptionException(
          file,
          pos,
          "bad record followed by a valid record at offset " + next + " (damage before the tail)");
    }
    int dirtyEnd = limit;
    while (dirtyEnd > pos && buf[dirtyEnd - 1] == 0) {
      dirtyEnd--;
    }
    LOG.warn("WAL torn tail: zeroing {} bytes of {} from offset {}", dirtyEnd - pos, file, pos);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ByteBuffer zeros = ByteBuffer.allocate(dirtyEnd - pos);
      long at = pos;
      while (zeros.hasRemaining()) {
        at += ch.write(zeros, at);
      }
      ch.force(false);
    }
    truncatedBytes += dirtyEnd - pos;
    return pos;
  }

  private void apply(Path file, long seq, byte[] buf, int pos, int len)
      throws WalCorruptionException {
    RecordType type = RecordType.of(buf[pos + 4]);
    int payload = pos + Frame.HEADER_BYTES;
    int plen = len - Frame.HEADER_BYTES;
    try {
      switch (type) {
        case SEGMENT -> {
          if (plen != 8) {
            throw new WalCorruptionException(file, pos, "segment record of " + plen + " bytes");
          }
          preallocated = java.nio.ByteBuffer.wrap(buf, payload, 8).getLong();
        }
        case METADATA -> {
          byte[] m = Arrays.copyOfRange(buf, payload, payload + plen);
          if (metadata == null) {
            metadata = m;
          } else if (!Arrays.equals(metadata, m)) {
            throw new WalCorruptionException(
                file, pos, "metadata differs from earlier segments (a segment of another WAL?)");
          }
        }
        case ENTRY -> {
          if (plen < 17) {
            throw new WalCorruptionException(file, pos, "entry record too short");
          }
          Entry e = RecordBuffer.decodeEntry(buf, payload, plen);
          long i = e.index();
          if (i > log.lastIndex() + 1) {
            throw new WalCorruptionException(
                file, pos, "entry " + i + " leaves a gap after " + log.lastIndex());
          }
          if (i <= log.offset()) {
            // Overwrites entries from before the replay's first segment: start over from it.
            log.reset(i - 1, EntryLog.UNKNOWN_TERM);
          }
          log.append(e, EntryLog.location(seq, pos));
        }
        case HARD_STATE -> {
          if (plen != 24) {
            throw new WalCorruptionException(file, pos, "hard state record of " + plen + " bytes");
          }
          hardState = RecordBuffer.decodeHardState(buf, payload);
        }
        case SNAPSHOT -> {
          SnapshotMetadata meta = RecordBuffer.decodeSnapshot(buf, payload, plen);
          if (RecordBuffer.decodeSnapshotInstalled(buf, payload)) {
            log.reset(meta.index(), meta.term());
          }
          snapshot = meta;
        }
      }
    } catch (IllegalArgumentException e) {
      throw new WalCorruptionException(file, pos, "undecodable " + type + " record: " + e);
    }
  }

  private static boolean isZero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static int nextValidFrame(byte[] b, int from, int limit) {
    for (int p = from; p + Frame.HEADER_BYTES <= limit; p++) {
      if (b[p + 4] != 0 && Frame.validLength(b, p, limit) > 0) {
        return p;
      }
    }
    return -1;
  }
}
