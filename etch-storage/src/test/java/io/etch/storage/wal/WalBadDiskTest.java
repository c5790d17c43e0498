package io.etch.storage.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.raft.Entry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad disks: a missing or unopenable directory, a read-only file system and a full one. Each must
 * give an error naming the problem and leave the stored files intact. The full and read-only cases
 * mount a small tmpfs, which needs root (CAP_SYS_ADMIN); without it they are reported as skipped,
 * never passed silently.
 */
class WalBadDiskTest {
  static final Wal.Options OPTIONS = new Wal.Options(256 * 1024);

  @TempDir Path tmp;

  @Test
  void openingAMissingDirectoryNamesIt() {
    Path missing = tmp.resolve("no-such-wal");
    assertThatThrownBy(() -> Wal.open(missing, OPTIONS, 1 << 20))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("does not exist");
  }

  @Test
  void openingADirectoryWithoutSegmentsSaysSo() throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    assertThatThrownBy(() -> Wal.open(empty, OPTIONS, 1 << 20))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("no WAL segments");
  }

  @Test
  void creatingUnderARegularFileFailsWithTheReason() throws IOException {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    assertThatThrownBy(() -> Wal.create(file.resolve("wal"), WalTest.META, WalTest.BOOT, OPTIONS))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("cannot create WAL directory")
        .hasMessageContaining(file.resolve("wal").toString());
    assertThat(Files.readString(file)).isEqualTo("x");
  }

  @Test
  void aFullDiskFailsAppendsClearlyAndKeepsEveryAcknowledgedEntry() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("full"));
    mountTmpfs(mnt, "size=1m");
    try {
      Path dir = mnt.resolve("wal");
      List<Entry> acked = new ArrayList<>();
      IOException failure = null;
      try (Wal wal = Wal.create(dir, WalTest.META, WalTest.BOOT, OPTIONS)) {
        for (long i = 1; i < 10_000 && failure == null; i++) {
          Entry e = Entries.entry(1, i, 1000);
          try {
            wal.save(null, List.of(e), true);
            acked.add(e);
          } catch (IOException ex) {
            failure = ex;
          }
        }
      }
      assertThat(failure).as("appends on a full disk must fail").isNotNull();
      assertThat(failure).hasStackTraceContaining("No space left on device");
      assertThat(acked).isNotEmpty();
      try (Stream<Path> files = Files.list(dir)) {
        assertThat(files.map(p -> p.getFileName().toString()))
            .as("no half-made segment left behind")
            .noneMatch(n -> n.endsWith(".tmp"));
      }
      Wal.Recovered r = Wal.open(dir, OPTIONS, 1 << 20);
      try (Wal wal = r.wal()) {
        assertThat(r.entries()).startsWith(acked.toArray(Entry[]::new));
      }
    } finally {
      umount(mnt);
    }
  }

  @Test
  void aReadOnlyFileSystemRefusesToOpenAndKeepsTheWal() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("ro"));
    mountTmpfs(mnt, "size=4m");
    try {
      Path dir = mnt.resolve("wal");
      try (Wal wal = Wal.create(dir, WalTest.META, WalTest.BOOT, OPTIONS)) {
        wal.save(null, Entries.range(1, 1, 20), true);
      }
      run("mount", "-o", "remount,ro", mnt.toString());
      assertThatThrownBy(() -> Wal.open(dir, OPTIONS, 1 << 20))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("cannot open WAL directory " + dir)
          .hasMessageContaining("Read-only file system");
      assertThatThrownBy(
              () -> Wal.create(mnt.resolve("other"), WalTest.META, WalTest.BOOT, OPTIONS))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("Read-only file system");
      run("mount", "-o", "remount,rw", mnt.toString());
      Wal.Recovered r = Wal.open(dir, OPTIONS, 1 << 20);
      try (Wal wal = r.wal()) {
        assertThat(r.entries()).containsExactlyElementsOf(Entries.range(1, 1, 20));
      }
    } finally {
      umount(mnt);
    }
  }

  private static void mountTmpfs(Path at, String options) throws Exception {
    int rc = run("mount", "-t", "tmpfs", "-o", options, "tmpfs", at.toString());
    Assumptions.assumeTrue(
        rc == 0, "cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): full-disk case not run");
  }

  private static void umount(Path at) throws Exception {
    assertThat(run("umount", at.toString())).as("umount " + at).isZero();
  }

  private static int run(String... cmd) throws Exception {
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      return -1;
    }
    p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    return p.exitValue();
  }
}
