package io.etch.storage.wal;

import io.etch.raft.ConfState;
import io.etch.raft.HardState;
import io.etch.raft.SnapshotMetadata;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The process {@link WalCrashTest} kills: opens (or creates) the WAL, then appends 256-byte entries
 * from several threads with group commit forever, printing {@code ack <index>} on stdout (flushed)
 * after the fsync covering an entry returns. Now and then it records a snapshot marker at an
 * acknowledged index and releases the segments below it, so kills also land in segment cuts and
 * releases.
 */
public final class WalCrashChild {
  static final int ENTRY_BYTES = 256;
  static final Wal.Options OPTIONS = new Wal.Options(64 * 1024);

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Wal wal;
    long last;
    if (Wal.exists(dir)) {
      Wal.Recovered r = Wal.open(dir, OPTIONS, 1 << 20);
      wal = r.wal();
      last = r.replay().log().lastIndex();
    } else {
      wal = Wal.create(dir, WalTest.META, WalTest.BOOT, OPTIONS);
      last = 0;
    }
    System.out.println("ready " + last);
    System.out.flush();
    Object order = new Object();
    long[] next = {last + 1};
    long[] acked = {last};
    Runnable writer =
        () -> {
          try {
            while (true) {
              long i;
              CompletableFuture<Void> f;
              synchronized (order) { // indices reach the WAL queue in order
                i = next[0]++;
                f =
                    wal.appendAsync(
                        new HardState(1, 1, i - 1), List.of(Entries.entry(1, i, ENTRY_BYTES)));
              }
              f.join();
              synchronized (System.out) {
                System.out.println("ack " + i);
                System.out.flush();
              }
              long snap = 0;
              synchronized (acked) {
                acked[0] = Math.max(acked[0], i);
                if (i % 500 == 0) {
                  snap = acked[0] - 100;
                }
              }
              if (snap > 0) {
                wal.saveSnapshot(new SnapshotMetadata(ConfState.ofVoters(1L), snap, 1), false);
                wal.releaseTo(snap);
              }
            }
          } catch (Exception e) {
            e.printStackTrace();
            System.exit(3);
          }
        };
    for (int t = 0; t < 8; t++) {
      new Thread(writer, "writer-" + t).start();
    }
  }
}
