package io.etch.embedded;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Start time of an embedded cluster, from {@code EtchCluster.builder()...start()} until it serves
 * (leader elected, members published, client endpoints listening):
 *
 * <ul>
 *   <li>cold: the first start in a fresh JVM (class loading, JIT, RocksDB's native library), one
 *       child JVM per sample;
 *   <li>warm: repeated starts in one JVM after a few unmeasured ones.
 * </ul>
 *
 * Run with {@code bench/embedded-start.sh [cold-samples] [warm-samples]}. Not a unit test.
 */
public final class StartTimeBenchmark {
  private StartTimeBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("--child")) {
      // One cold start; the parent reads the figure.
      System.out.println(
          "START_MS "
              + startMillis(Integer.parseInt(args[1]), EtchCluster.DEFAULT_WAL_SEGMENT_BYTES));
      System.exit(0);
    }
    int coldSamples = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int warmSamples = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    System.out.printf(
        "etch-embedded start time (ms), %d cold JVMs, %d warm starts, %d cores, load %s%n",
        coldSamples, warmSamples, Runtime.getRuntime().availableProcessors(), load());
    for (int members : new int[] {1, 3}) {
      List<Double> etcd = new ArrayList<>();
      for (int i = 0; i < coldSamples; i++) {
        etcd.add(EtcdStart.startMillis(members));
      }
      report(members, "etcd 3.4 process", etcd);
      List<Double> cold = new ArrayList<>();
      for (int i = 0; i < coldSamples; i++) {
        cold.add(coldStart(members));
      }
      report(members, "cold (first in JVM)", cold);
    }
    long mib = 1 << 20;
    for (int members : new int[] {1, 3}) {
      for (long segment : new long[] {EtchCluster.DEFAULT_WAL_SEGMENT_BYTES, 64 * mib}) {
        for (int i = 0; i < 5; i++) {
          startMillis(members, segment); // warm-up, not measured
        }
        List<Double> warm = new ArrayList<>();
        for (int i = 0; i < warmSamples; i++) {
          warm.add(startMillis(members, segment));
        }
        report(members, "warm, WAL seg " + segment / mib + " MiB", warm);
      }
    }
    System.out.println("load after: " + load());
  }

  private static String load() {
    try {
      return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
    } catch (java.io.IOException e) {
      return "?";
    }
  }

  /** Starts and closes one cluster; the time to start, in milliseconds. */
  static double startMillis(int members, long walSegmentBytes) {
    long t0 = System.nanoTime();
    EtchCluster c =
        EtchCluster.builder().withMembers(members).withWalSegmentBytes(walSegmentBytes).start();
    long t1 = System.nanoTime();
    c.close();
    return (t1 - t0) / 1e6;
  }

  private static double coldStart(int members) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                StartTimeBenchmark.class.getName(),
                "--child",
                Integer.toString(members))
            .redirectErrorStream(true)
            .start();
    Double ms = null;
    List<String> out = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        out.add(line);
        if (line.startsWith("START_MS ")) {
          ms = Double.parseDouble(line.substring(9));
        }
      }
    }
    if (p.waitFor() != 0 || ms == null) {
      throw new IllegalStateException("cold start child failed: " + String.join("\n", out));
    }
    return ms;
  }

  private static void report(int members, String kind, List<Double> samples) {
    List<Double> s = new ArrayList<>(samples);
    Collections.sort(s);
    System.out.printf(
        "%d member(s) %-24s median %7.1f  p90 %7.1f  min %7.1f  max %7.1f  (n=%d)%n",
        members, kind, pct(s, 50), pct(s, 90), s.get(0), s.get(s.size() - 1), s.size());
  }

  /** Nearest-rank percentile of sorted samples. */
  private static double pct(List<Double> sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, rank - 1));
  }
}
