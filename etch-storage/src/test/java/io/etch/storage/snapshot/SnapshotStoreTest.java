package io.etch.storage.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.raft.ConfState;
import io.etch.raft.SnapshotMetadata;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotStoreTest {
  static final ConfState CONF =
      new ConfState(Set.of(1L, 2L, 3L), Set.of(4L), Set.of(), Set.of(), false);

  @TempDir Path tmp;

  private static SnapshotMetadata meta(long index, long term) {
    return new SnapshotMetadata(CONF, index, term);
  }

  /** A directory shaped like a RocksDB checkpoint: nested, an empty file, one large file. */
  private Path checkpoint(String name, long seed) throws IOException {
    Path d = Files.createDirectories(tmp.resolve(name));
    SplittableRandom r = new SplittableRandom(seed);
    byte[] big = new byte[(1 << 20) + 17];
    r.nextBytes(big);
    Files.write(d.resolve("000012.sst"), big);
    Files.writeString(d.resolve("CURRENT"), "MANIFEST-000005\n");
    Files.write(d.resolve("empty.log"), new byte[0]);
    Files.createDirectories(d.resolve("sub/dir"));
    Files.writeString(d.resolve("sub/dir/OPTIONS-7"), "seed=" + seed);
    return d;
  }

  private static void assertSameTree(Path expected, Path actual) throws IOException {
    List<Path> a = SnapshotStore.walk(expected);
    List<Path> b = SnapshotStore.walk(actual);
    assertThat(b.stream().map(p -> SnapshotStore.relativeName(actual, p)).toList())
        .isEqualTo(a.stream().map(p -> SnapshotStore.relativeName(expected, p)).toList());
    for (Path p : a) {
      if (Files.isRegularFile(p)) {
        assertThat(actual.resolve(expected.relativize(p).toString())).hasSameBinaryContentAs(p);
      }
    }
  }

  private static Path copyOf(Path dir, Path to) throws IOException {
    for (Path p : SnapshotStore.walk(dir)) {
      Path t = to.resolve(dir.relativize(p).toString());
      if (Files.isDirectory(p)) {
        Files.createDirectories(t);
      } else {
        Files.copy(p, t);
      }
    }
    return to;
  }

  @Test
  void aSavedSnapshotIsLoadedBackWithItsMetadataAndFiles() throws IOException {
    Path cp = checkpoint("cp", 1);
    Path reference = copyOf(cp, tmp.resolve("reference"));
    SnapshotStore store = new SnapshotStore(tmp.resolve("snap"));
    StoredSnapshot saved = store.save(meta(100, 3), cp);
    assertThat(cp).doesNotExist(); // moved, not copied
    assertThat(saved.dir().getFileName().toString())
        .isEqualTo("snap-0000000000000064-0000000000000003");

    StoredSnapshot loaded = new SnapshotStore(tmp.resolve("snap")).loadNewest().orElseThrow();
    assertThat(loaded.metadata()).isEqualTo(meta(100, 3));
    assertThat(loaded.files()).isEqualTo(saved.files());
    assertThat(loaded.files())
        .extracting(StoredSnapshot.FileEntry::name)
        .containsExactly("000012.sst", "CURRENT", "empty.log", "sub/dir/OPTIONS-7");
    assertSameTree(reference, loaded.dataDir());
  }

  @Test
  void theNewestValidSnapshotWinsAndDamagedOnesAreSkipped() throws IOException {
    SnapshotStore store = new SnapshotStore(tmp.resolve("snap"));
    store.save(meta(100, 3), checkpoint("a", 1));
    StoredSnapshot mid = store.save(meta(200, 4), checkpoint("b", 2));
    StoredSnapshot newest = store.save(meta(300, 4), checkpoint("c", 3));
    assertThat(store.loadNewest()).map(StoredSnapshot::index).contains(300L);

    // One flipped byte in a data file of the newest: fall back to the one before.
    Path sst = newest.dataDir().resolve("000012.sst");
    byte[] b = Files.readAllBytes(sst);
    b[12345] ^= 1;
    Files.write(sst, b);
    assertThat(store.loadNewest()).map(StoredSnapshot::index).contains(200L);

    // A damaged meta file is skipped too.
    Path metaFile = mid.dir().resolve(SnapshotStore.META_FILE);
    byte[] m = Files.readAllBytes(metaFile);
    m[10] ^= 1;
    Files.write(metaFile, m);
    assertThat(store.loadNewest()).map(StoredSnapshot::index).contains(100L);
    assertThatThrownBy(() -> SnapshotStore.verify(newest))
        .hasMessageContaining("000012.sst")
        .hasMessageContaining("CRC32C");
  }

  @Test
  void anEmptyStoreHasNoSnapshot() throws IOException {
    assertThat(new SnapshotStore(tmp.resolve("snap")).loadNewest()).isEmpty();
  }

  @Test
  void leftoversOfACrashedSaveAreRemovedOnOpen() throws IOException {
    SnapshotStore store = new SnapshotStore(tmp.resolve("snap"));
    Path staging = store.newStagingDir();
    Files.writeString(staging.resolve("half-written"), "x");
    new SnapshotStore(tmp.resolve("snap"));
    assertThat(staging).doesNotExist();
  }

  @Test
  void purgeKeepsTheNewest() throws IOException {
    SnapshotStore store = new SnapshotStore(tmp.resolve("snap"));
    for (int i = 1; i <= 4; i++) {
      store.save(meta(i * 10, 1), checkpoint("c" + i, i));
    }
    store.purge(2);
    assertThat(store.list()).extracting(StoredSnapshot::index).containsExactly(40L, 30L);
  }

  @Test
  void aStreamedSnapshotInstallsIdenticallyWhateverTheChunking() throws IOException {
    SnapshotStore leader = new SnapshotStore(tmp.resolve("leader"));
    StoredSnapshot s = leader.save(meta(500, 7), checkpoint("cp", 5));
    SplittableRandom r = new SplittableRandom(9);
    int[] chunkSizes = {16, 1000, SnapshotStream.DEFAULT_CHUNK_BYTES};
    for (int k = 0; k < chunkSizes.length; k++) {
      SnapshotStore follower = new SnapshotStore(tmp.resolve("follower-" + k));
      List<byte[]> chunks = new ArrayList<>();
      try (SnapshotStream stream = leader.stream(s, chunkSizes[k])) {
        stream.forEachRemaining(chunks::add);
      }
      for (int i = 0; i < chunks.size(); i++) {
        assertThat(chunks.get(i).length).isLessThanOrEqualTo(chunkSizes[k]);
        if (i < chunks.size() - 1) {
          assertThat(chunks.get(i).length).isEqualTo(chunkSizes[k]);
        }
      }
      StoredSnapshot installed;
      try (SnapshotReceiver rx = follower.receive()) {
        // The transport may split or merge chunks; the receiver must not care.
        for (byte[] piece : rechunk(chunks, r)) {
          rx.accept(piece);
        }
        installed = rx.finish();
      }
      assertThat(installed.metadata()).isEqualTo(s.metadata());
      assertThat(installed.files()).isEqualTo(s.files());
      assertSameTree(s.dataDir(), installed.dataDir());
      assertThat(follower.loadNewest()).map(StoredSnapshot::metadata).contains(s.metadata());
    }
  }

  private static List<byte[]> rechunk(List<byte[]> chunks, SplittableRandom r) {
    ByteBuffer all = ByteBuffer.allocate(chunks.stream().mapToInt(c -> c.length).sum());
    chunks.forEach(all::put);
    byte[] bytes = all.array();
    List<byte[]> out = new ArrayList<>();
    int p = 0;
    while (p < bytes.length) {
      int n = Math.min(bytes.length - p, 1 + r.nextInt(200_000));
      out.add(java.util.Arrays.copyOfRange(bytes, p, p + n));
      p += n;
    }
    return out;
  }

  private byte[] streamBytes(SnapshotStore store, StoredSnapshot s) {
    ByteBuffer all = ByteBuffer.allocate(8 << 20);
    try (SnapshotStream stream = store.stream(s, 4096)) {
      stream.forEachRemaining(all::put);
    }
    return java.util.Arrays.copyOf(all.array(), all.position());
  }

  @Test
  void aCorruptedOrTruncatedStreamInstallsNothing() throws IOException {
    SnapshotStore leader = new SnapshotStore(tmp.resolve("leader"));
    StoredSnapshot s = leader.save(meta(500, 7), checkpoint("cp", 5));
    byte[] good = streamBytes(leader, s);
    SnapshotStore follower = new SnapshotStore(tmp.resolve("follower"));
    SplittableRandom r = new SplittableRandom(3);
    for (int round = 0; round < 20; round++) {
      byte[] bad = good.clone();
      bad[r.nextInt(bad.length)] ^= (byte) (1 << r.nextInt(8));
      assertThatThrownBy(
              () -> {
                try (SnapshotReceiver rx = follower.receive()) {
                  rx.accept(bad);
                  rx.finish();
                }
              })
          .as("round %d", round)
          .isInstanceOf(IOException.class);
    }
    byte[] cut = java.util.Arrays.copyOf(good, good.length - 3);
    assertThatThrownBy(
            () -> {
              try (SnapshotReceiver rx = follower.receive()) {
                rx.accept(cut);
                rx.finish();
              }
            })
        .hasMessageContaining("ended early");
    assertThat(follower.loadNewest()).isEmpty();
    try (Stream<Path> left = Files.list(follower.root())) {
      assertThat(left).as("no temporary directory left behind").isEmpty();
    }
  }

  @Test
  void aStreamNamingAFileOutsideTheSnapshotIsRefused() throws IOException {
    byte[] m = SnapshotMetadataCodec.encode(meta(5, 1));
    byte[] name = "../../escaped".getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(1024);
    b.putLong(SnapshotStream.MAGIC).putInt(m.length).put(m).putInt(1);
    b.putInt(name.length).put(name).putLong(1).put((byte) 'x');
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    byte[] stream = java.util.Arrays.copyOf(b.array(), b.position());
    SnapshotStore follower = new SnapshotStore(tmp.resolve("follower"));
    assertThatThrownBy(
            () -> {
              try (SnapshotReceiver rx = follower.receive()) {
                rx.accept(stream);
                rx.finish();
              }
            })
        .hasMessageContaining("unsafe snapshot file name");
    assertThat(tmp.resolve("escaped")).doesNotExist();
  }
}
