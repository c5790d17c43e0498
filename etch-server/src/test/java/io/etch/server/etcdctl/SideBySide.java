package io.etch.server.etcdctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A real etcd and an etch started side by side from empty with the same limits; every command runs
 * against both and the outputs must agree: exit code, stderr, and stdout — text after normalizing
 * URLs and member ids, {@code -w json} field by field after normalizing cluster_id, member_id and
 * raft_term. Revisions are compared exactly: both stores start at revision 1 and see the same
 * commands.
 */
final class SideBySide implements AutoCloseable {
  /** Fields that differ by nature between two clusters: ids and terms. */
  private static final Set<String> IDS =
      Set.of("cluster_id", "member_id", "raft_term", "ID", "leader", "raftTerm");

  /** A member id in hex as etcdctl prints it (no leading zeros; below 12 digits: 1 in 65536). */
  private static final Pattern MEMBER_ID = Pattern.compile("\\b[0-9a-f]{12,16}\\b");

  final RealEtcd etcd;
  final EtchServer etch;
  final String etchUrl;
  final String etchPeerUrl;

  private SideBySide(RealEtcd etcd, EtchServer etch, String etchUrl, String peer) throws Exception {
    this.etcd = etcd;
    this.etch = etch;
    this.etchUrl = etchUrl;
    this.etchPeerUrl = peer;
    assertBothStartAtTheSameRevision();
  }

  /** Starts both with the same extra flags (limits), from empty. */
  static SideBySide start(Path dir, String... extraFlags) throws Exception {
    RealEtcd etcd = RealEtcd.start(dir, extraFlags);
    EtchServer etch = null;
    try {
      int port = TestServer.freePort();
      String peer = "http://127.0.0.1:" + TestServer.freePort();
      List<String> flags = new ArrayList<>(Arrays.asList(extraFlags));
      flags.add("--initial-advertise-peer-urls=" + peer);
      flags.add("--initial-cluster=default=" + peer);
      etch = TestServer.start(dir.resolve("etch-data"), port, flags.toArray(new String[0]));
      return new SideBySide(etcd, etch, "http://127.0.0.1:" + port, peer);
    } catch (Exception e) {
      if (etch != null) {
        etch.close();
      }
      etcd.close();
      throw e;
    }
  }

  /**
   * etcd's empty store is at revision 1 (its first write makes 2). etch-storage's MvccStore started
   * at 0 until commit 6acfcaf (branch rev1); with it, every revision below compares exactly.
   */
  private void assertBothStartAtTheSameRevision() throws Exception {
    long etcdRev = headerRevision(etcdctl(etcd.clientUrl, null, "get", "probe", "-w", "json"));
    long etchRev = headerRevision(etcdctl(etchUrl, null, "get", "probe", "-w", "json"));
    assertThat(etchRev)
        .as("an empty etch must be at revision %d as an empty etcd (etch-storage: rev1)", etcdRev)
        .isEqualTo(etcdRev)
        .isEqualTo(1);
  }

  static long headerRevision(Etcdctl.Result r) {
    JsonObject h = JsonParser.parseString(r.out()).getAsJsonObject().getAsJsonObject("header");
    return h.has("revision") ? h.get("revision").getAsLong() : 0;
  }

  static Etcdctl.Result etcdctl(String url, String stdin, String... args) throws Exception {
    return Etcdctl.run(url, stdin, List.of(args));
  }

  /** The two results of one command, etcd's first. */
  record Pair(Etcdctl.Result etcd, Etcdctl.Result etch) {}

  /** Runs a command on both, at the same time (each store sees the same sequence). */
  Pair run(String stdin, String... args) throws Exception {
    java.util.concurrent.CompletableFuture<Etcdctl.Result> a =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () -> {
              try {
                return Etcdctl.run(etcd.clientUrl, stdin, List.of(args));
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    Etcdctl.Result b = Etcdctl.run(etchUrl, stdin, List.of(args));
    return new Pair(a.get(), b);
  }

  /** Runs a command on both and asserts they answered the same. */
  Pair same(String... args) throws Exception {
    return sameWithInput(null, args);
  }

  Pair sameWithInput(String stdin, String... args) throws Exception {
    Pair p = run(stdin, args);
    String what = "etcdctl " + String.join(" ", args) + (stdin == null ? "" : " <<< " + stdin);
    assertThat(p.etch().exit())
        .as("exit code of %s; etch said %s", what, p.etch())
        .isEqualTo(p.etcd().exit());
    assertThat(normalize(p.etch().err(), false))
        .as("stderr of %s", what)
        .isEqualTo(normalize(p.etcd().err(), true));
    boolean json = Arrays.asList(args).contains("json");
    if (json && p.etcd().exit() == 0) {
      List<String> diffs = new ArrayList<>();
      compareJson(
          "$",
          JsonParser.parseString(normalize(p.etcd().out(), true)),
          JsonParser.parseString(normalize(p.etch().out(), false)),
          diffs);
      assertThat(diffs)
          .as("%s%n  etcd: %s%n  etch: %s", what, p.etcd().out(), p.etch().out())
          .isEmpty();
    } else {
      assertThat(normalize(p.etch().out(), false))
          .as("stdout of %s", what)
          .isEqualTo(normalize(p.etcd().out(), true));
    }
    return p;
  }

  /** Each side's own URLs and member ids replaced. */
  String normalize(String s, boolean isEtcd) {
    String t =
        isEtcd
            ? s.replace(etcd.clientUrl, "<client>").replace(etcd.peerUrl, "<peer>")
            : s.replace(etchUrl, "<client>").replace(etchPeerUrl, "<peer>");
    return MEMBER_ID.matcher(t).replaceAll("<id>");
  }

  /** Field-by-field comparison; Go omits zero values, so a missing field reads as zero. */
  void compareJson(String path, JsonElement etcdV, JsonElement etchV, List<String> diffs) {
    if (etcdV.isJsonObject() && etchV.isJsonObject()) {
      JsonObject a = etcdV.getAsJsonObject();
      JsonObject b = etchV.getAsJsonObject();
      Set<String> keys = new TreeSet<>(a.keySet());
      keys.addAll(b.keySet());
      for (String k : keys) {
        if (IDS.contains(k) || ignored(path, k)) {
          continue;
        }
        String p = path + "." + k;
        if (!a.has(k) || !b.has(k)) {
          JsonElement present = a.has(k) ? a.get(k) : b.get(k);
          if (!isZero(present)) {
            diffs.add(p + ": etcd " + a.get(k) + ", etch " + b.get(k));
          }
        } else {
          compareJson(p, a.get(k), b.get(k), diffs);
        }
      }
    } else if (etcdV.isJsonArray() && etchV.isJsonArray()) {
      if (etcdV.getAsJsonArray().size() != etchV.getAsJsonArray().size()) {
        diffs.add(path + ": etcd " + etcdV + ", etch " + etchV);
        return;
      }
      for (int i = 0; i < etcdV.getAsJsonArray().size(); i++) {
        compareJson(
            path + "[" + i + "]",
            etcdV.getAsJsonArray().get(i),
            etchV.getAsJsonArray().get(i),
            diffs);
      }
    } else if (!sameValue(etcdV, etchV)) {
      diffs.add(path + ": etcd " + etcdV + ", etch " + etchV);
    }
  }

  /** endpoint status: sizes, version and raft indexes are each server's own (compared apart). */
  private static boolean ignored(String path, String key) {
    return path.endsWith(".Status")
        && Set.of("dbSize", "dbSizeInUse", "version", "raftIndex", "raftAppliedIndex")
            .contains(key);
  }

  private static boolean sameValue(JsonElement a, JsonElement b) {
    if (a.isJsonPrimitive()
        && b.isJsonPrimitive()
        && a.getAsJsonPrimitive().isNumber()
        && b.getAsJsonPrimitive().isNumber()) {
      return new BigInteger(a.getAsString()).equals(new BigInteger(b.getAsString()));
    }
    return a.equals(b);
  }

  private static boolean isZero(JsonElement e) {
    if (e.isJsonNull()) {
      return true;
    }
    if (e.isJsonArray()) {
      return e.getAsJsonArray().isEmpty();
    }
    if (e.isJsonPrimitive()) {
      JsonPrimitive p = e.getAsJsonPrimitive();
      return (p.isBoolean() && !p.getAsBoolean())
          || (p.isNumber() && new BigInteger(p.getAsString()).signum() == 0)
          || (p.isString() && p.getAsString().isEmpty());
    }
    return false;
  }

  @Override
  public void close() throws Exception {
    try {
      etch.close();
    } finally {
      etcd.close();
    }
  }
}
