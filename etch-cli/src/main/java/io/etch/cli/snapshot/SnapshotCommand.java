package io.etch.cli.snapshot;

import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.SnapshotRequest;
import io.etch.api.etcdserverpb.SnapshotResponse;
import io.etch.server.maintenance.SnapshotFile;
import io.etch.server.maintenance.SnapshotRestore;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code etchctl snapshot save|restore|status}, with etcdctl's flags and output. The file is etch's
 * own format ({@link SnapshotFile}), not etcd's bbolt file.
 */
@Command(
    name = "snapshot",
    description = "Manages etch node snapshots",
    subcommands = {
      SnapshotCommand.Save.class,
      SnapshotCommand.Restore.class,
      SnapshotCommand.StatusCmd.class
    })
public final class SnapshotCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand: save, restore or status");
  }

  /** Streams a snapshot from one member into FILE (written as FILE.part, fsynced, renamed). */
  @Command(name = "save", description = "Stores an etch node backend snapshot to a given file")
  static final class Save implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--endpoints", split = ",", defaultValue = "127.0.0.1:2379")
    List<String> endpoints;

    @Option(names = "--command-timeout", defaultValue = "5m")
    String commandTimeout;

    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      if (endpoints.size() != 1) {
        err.println(
            "Error: snapshot must be requested to one selected node, not multiple " + endpoints);
        return 1;
      }
      URI u = uri(endpoints.get(0));
      ManagedChannel ch =
          NettyChannelBuilder.forAddress(u.getHost(), u.getPort())
              .usePlaintext()
              .maxInboundMessageSize(64 << 20)
              .build();
      Path part = file.resolveSibling(file.getFileName() + ".part");
      try {
        Iterator<SnapshotResponse> it =
            MaintenanceGrpc.newBlockingStub(ch)
                .withDeadlineAfter(seconds(commandTimeout), TimeUnit.SECONDS)
                .snapshot(SnapshotRequest.getDefaultInstance());
        long total = 0;
        try (FileChannel fc =
            FileChannel.open(
                part,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
          OutputStream os = java.nio.channels.Channels.newOutputStream(fc);
          while (it.hasNext()) {
            SnapshotResponse r = it.next();
            r.getBlob().writeTo(os);
            total += r.getBlob().size();
          }
          os.flush();
          fc.force(true);
        }
        SnapshotFile.verify(part);
        Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        out.printf("Snapshot saved at %s%n", file);
        out.flush();
        return 0;
      } catch (StatusRuntimeException e) {
        Files.deleteIfExists(part);
        err.println("Error: " + e.getStatus().getDescription());
        return 1;
      } catch (IOException e) {
        Files.deleteIfExists(part);
        err.println("Error: " + e.getMessage());
        return 1;
      } finally {
        ch.shutdownNow();
      }
    }
  }

  /** Builds a new member's data directory from a snapshot file (etcdctl's flags and defaults). */
  @Command(name = "restore", description = "Restores an etch member snapshot to an etch directory")
  static final class Restore implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    @Option(names = "--name", defaultValue = "default")
    String name;

    @Option(names = "--data-dir", description = "default: NAME.etch")
    Path dataDir;

    @Option(names = "--initial-cluster", defaultValue = "default=http://localhost:2380")
    String initialCluster;

    @Option(names = "--initial-cluster-token", defaultValue = "etcd-cluster")
    String initialClusterToken;

    @Option(
        names = "--initial-advertise-peer-urls",
        split = ",",
        defaultValue = "http://localhost:2380")
    List<String> initialAdvertisePeerUrls;

    @Option(names = "--skip-hash-check", description = "accepted for etcdctl compatibility")
    boolean skipHashCheck;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Path dir = dataDir != null ? dataDir : Path.of(name + ".etch");
      List<URI> urls = new ArrayList<>();
      initialAdvertisePeerUrls.forEach(s -> urls.add(URI.create(s)));
      try {
        SnapshotRestore.Result r =
            SnapshotRestore.restore(
                file,
                new SnapshotRestore.Options(name, initialCluster, initialClusterToken, urls, dir));
        out.printf(
            "restored snapshot %s at revision %d into %s (member %x, cluster %x)%n",
            file, r.revision(), dir, r.memberId(), r.clusterId());
        out.flush();
        return 0;
      } catch (IOException | RuntimeException e) {
        err.println("Error: " + e.getMessage());
        return 1;
      }
    }
  }

  /** etcdctl's columns: hash, revision, total keys, total size; -w simple, table or json. */
  @Command(name = "status", description = "Gets backend snapshot status of a given file")
  static final class StatusCmd implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    @Option(
        names = {"-w", "--write-out"},
        defaultValue = "simple")
    String writeOut;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      try {
        SnapshotRestore.Status s = SnapshotRestore.status(file);
        out.print(format(s, writeOut));
        out.flush();
        return 0;
      } catch (IOException | RuntimeException e) {
        err.println("Error: " + e.getMessage());
        return 1;
      }
    }
  }

  /** The status lines etcdctl prints for {@code -w}. */
  static String format(SnapshotRestore.Status s, String writeOut) {
    String hash = String.format("%x", s.hash());
    String size = humanBytes(s.totalSize());
    switch (writeOut) {
      case "json":
        return String.format(
            "{\"hash\":%d,\"revision\":%d,\"totalKey\":%d,\"totalSize\":%d}%n",
            Integer.toUnsignedLong(s.hash()), s.revision(), s.totalKeys(), s.totalSize());
      case "table":
        String[] head = {"HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"};
        String[] row = {hash, Long.toString(s.revision()), Long.toString(s.totalKeys()), size};
        return table(head, row);
      case "simple":
        return String.format("%s, %d, %d, %s%n", hash, s.revision(), s.totalKeys(), size);
      default:
        throw new IllegalArgumentException("unknown output format " + writeOut);
    }
  }

  /** tablewriter's layout as etcdctl uses it: headers centred, cells right- or left-aligned. */
  private static String table(String[] head, String[] row) {
    StringBuilder sep = new StringBuilder("+");
    StringBuilder h = new StringBuilder("|");
    StringBuilder r = new StringBuilder("|");
    for (int i = 0; i < head.length; i++) {
      int w = Math.max(head[i].length(), row[i].length()) + 2;
      sep.append("-".repeat(w)).append('+');
      int left = (w - head[i].length()) / 2;
      h.append(" ".repeat(left))
          .append(head[i])
          .append(" ".repeat(w - left - head[i].length()))
          .append('|');
      boolean numeric = row[i].chars().allMatch(Character::isDigit);
      String cell =
          numeric ? String.format("%" + (w - 1) + "s ", row[i]) : " " + pad(row[i], w - 1);
      r.append(cell).append('|');
    }
    return sep + "\n" + h + "\n" + sep + "\n" + r + "\n" + sep + "\n";
  }

  private static String pad(String s, int w) {
    return s + " ".repeat(Math.max(0, w - s.length()));
  }

  /** go-humanize's Bytes (SI units), which etcdctl prints sizes with. */
  static String humanBytes(long n) {
    if (n < 10) {
      return n + " B";
    }
    String[] units = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double e = Math.floor(Math.log(n) / Math.log(1000));
    String unit = units[(int) e];
    double val = Math.floor(n / Math.pow(1000, e) * 10 + 0.5) / 10;
    return val < 10
        ? String.format(Locale.ROOT, "%.1f %s", val, unit)
        : String.format(Locale.ROOT, "%.0f %s", val, unit);
  }

  static URI uri(String endpoint) {
    return URI.create(endpoint.contains("://") ? endpoint : "http://" + endpoint);
  }

  static long seconds(String d) {
    return java.time.Duration.parse("PT" + d.toUpperCase(Locale.ROOT)).toSeconds();
  }
}
