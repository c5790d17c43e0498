package io.etch.server.maintenance;

import io.etch.raft.Bootstrap;
import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.HardState;
import io.etch.raft.Snapshot;
import io.etch.raft.SnapshotMetadata;
import io.etch.server.ClusterIds;
import io.etch.storage.membership.MemberRecord;
import io.etch.storage.mvcc.ApplyBatch;
import io.etch.storage.mvcc.MvccStore;
import io.etch.storage.wal.WalStorage;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code etchctl snapshot restore} and {@code status}: offline work on a {@link SnapshotFile}.
 *
 * <p>Restore builds a new member's data directory as etcd's does: the MVCC data (keys, leases,
 * auth) at the snapshot's revision; the membership replaced by {@code --initial-cluster}, with
 * member and cluster IDs derived from it and the token ({@link ClusterIds}); and a WAL holding only
 * a raft snapshot marker at index S (one past the source's consistent index) whose configuration is
 * the new voters, with hard state term 1, commit S. The store's consistent index is S, so {@code
 * bin/etch} starts from it as a restart, applying nothing twice; every member restored from the
 * same file with the same flags starts identical, and raft elects a leader.
 */
public final class SnapshotRestore {
  private SnapshotRestore() {}

  /** What etcdctl's {@code snapshot status} shows. */
  public record Status(int hash, long revision, long totalKeys, long totalSize) {}

  /** The flags of {@code snapshot restore}, with etcd's defaults applied by the caller. */
  public record Options(
      String name,
      String initialCluster,
      String initialClusterToken,
      List<URI> initialAdvertisePeerUrls,
      Path dataDir) {}

  /** What the restore made: the IDs of the new member and cluster. */
  public record Result(long memberId, long clusterId, long revision, Path dataDir) {}

  public static Result restore(Path file, Options o) throws IOException {
    Map<String, List<URI>> cluster = parseInitialCluster(o.initialCluster());
    List<URI> own = cluster.get(o.name());
    if (own == null) {
      throw new IOException(
          "member name " + o.name() + " is not in --initial-cluster " + o.initialCluster());
    }
    if (!sameUrls(own, o.initialAdvertisePeerUrls())) {
      throw new IOException(
          "--initial-cluster has "
              + o.name()
              + "="
              + own
              + " but --initial-advertise-peer-urls is "
              + o.initialAdvertisePeerUrls());
    }
    if (Files.exists(o.dataDir())) {
      try (Stream<Path> s = Files.list(o.dataDir())) {
        if (s.findAny().isPresent()) {
          throw new IOException("data-dir " + o.dataDir() + " exists");
        }
      }
    }
    List<MemberRecord> members = new ArrayList<>();
    List<Long> ids = new ArrayList<>();
    for (Map.Entry<String, List<URI>> m : cluster.entrySet()) {
      long id = ClusterIds.memberId(m.getValue(), o.initialClusterToken());
      ids.add(id);
      members.add(
          new MemberRecord(
              id, m.getKey(), m.getValue().stream().map(URI::toString).toList(), List.of(), false));
    }
    long memberId = ClusterIds.memberId(own, o.initialClusterToken());
    long clusterId = ClusterIds.clusterId(ids);

    Path memberDir = o.dataDir().resolve("member");
    Path dbDir = memberDir.resolve("db");
    Files.createDirectories(memberDir);
    SnapshotFile.unpack(file, dbDir);
    long index;
    long revision;
    try (MvccStore store = MvccStore.open(dbDir)) {
      revision = store.currentRevision();
      index = store.consistentIndex() + 1;
      try (ApplyBatch b = store.newBatch()) {
        for (MemberRecord m : store.members()) {
          b.removeMember(m.id());
        }
        for (MemberRecord m : members) {
          b.putMember(m);
        }
        for (long[] a : store.alarms()) {
          b.deleteAlarm(a[0], (int) a[1]); // raised by the old members, whose IDs are gone
        }
        b.setConsistentIndex(index, 1);
        b.commit();
      }
      store.sync();
      store.flush();
    }
    ConfState conf = Bootstrap.confState(ids);
    byte[] meta = ByteBuffer.allocate(16).putLong(memberId).putLong(clusterId).array();
    try (WalStorage wal =
        WalStorage.create(memberDir.resolve("wal"), meta, conf, WalStorage.Options.DEFAULT)) {
      wal.applySnapshot(new Snapshot(new SnapshotMetadata(conf, index, 1), Entry.EMPTY));
      wal.save(new HardState(1, 0, index), List.of(), true);
    }
    return new Result(memberId, clusterId, revision, o.dataDir());
  }

  /** Hash (CRC32C of every record, as the Hash RPC), revision, keys and size of a snapshot file. */
  public static Status status(Path file) throws IOException {
    Path tmp = Files.createTempDirectory("etch-snapshot-status-");
    try {
      Path db = tmp.resolve("db");
      SnapshotFile.unpack(file, db);
      try (MvccStore store = MvccStore.open(db)) {
        return new Status(
            store.hash(), store.currentRevision(), store.indexedKeys(), Files.size(file));
      }
    } finally {
      SnapshotFile.deleteTree(tmp);
    }
  }

  /** etcd's {@code name=url,name=url} (a name may repeat, one URL each). */
  static Map<String, List<URI>> parseInitialCluster(String v) throws IOException {
    Map<String, List<URI>> out = new LinkedHashMap<>();
    for (String part : v.split(",")) {
      int eq = part.indexOf('=');
      if (eq <= 0) {
        throw new IOException("--initial-cluster: bad entry " + part);
      }
      out.computeIfAbsent(part.substring(0, eq).trim(), k -> new ArrayList<>())
          .add(URI.create(part.substring(eq + 1).trim()));
    }
    return out;
  }

  private static boolean sameUrls(List<URI> a, List<URI> b) {
    return a.stream()
        .map(URI::toString)
        .sorted()
        .toList()
        .equals(b.stream().map(URI::toString).sorted().toList());
  }
}
