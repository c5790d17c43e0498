package io.etch.cli.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.etch.cli.Etchctl;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's etcdctl 3.4 and etchctl run the same commands, in the same order, each against its own
 * fresh real etcd 3.4 (two servers, so that writes happen once per tool); stdout, stderr and exit
 * codes must be byte-identical after normalising only what differs between two servers: ids
 * (cluster, member, lease), endpoint addresses and timings.
 */
class EtcdctlSideBySideTest {
  @TempDir static Path dir;
  static RealEtcd forEtcdctl;
  static RealEtcd forEtchctl;

  @BeforeAll
  static void start() throws Exception {
    forEtcdctl = RealEtcd.start(dir.resolve("a"));
    forEtchctl = RealEtcd.start(dir.resolve("b"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (forEtcdctl != null) {
      forEtcdctl.close();
    }
    if (forEtchctl != null) {
      forEtchctl.close();
    }
  }

  record Result(int exit, String out, String err) {}

  static Result etcdctl(String endpoint, String stdin, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("etcdctl"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("ETCDCTL_API", "3");
    pb.environment().put("ETCDCTL_ENDPOINTS", endpoint);
    Process p = pb.start();
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new Result(
        p.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  static Result etchctl(String endpoint, String stdin, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Etchctl.run(
            Map.of("ETCDCTL_ENDPOINTS", endpoint),
            new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)),
            out,
            err,
            args);
    return new Result(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static final Pattern HEX_ID = Pattern.compile("\\b[0-9a-f]{12,16}\\b");
  private static final Pattern DEC_ID = Pattern.compile("\\b\\d{15,20}\\b");
  private static final Pattern TOOK = Pattern.compile("took ?=? ?\"?[0-9.]+[µm]?s");
  private static final Pattern TOOK_JSON = Pattern.compile("\"took\":\"[^\"]*\"");

  /** bbolt's file size depends on when each server grew it. */
  private static final Pattern DB_SIZE = Pattern.compile("\\d+(\\.\\d)? kB|\"DBSize\" : \\d+");

  private static final Pattern ADDRESS = Pattern.compile("127\\.0\\.0\\.1:\\d+");
  private static final Pattern WARN = Pattern.compile("(?m)^\\{\"level\":\"warn\".*\\n");

  static String normalize(String s, String endpoint) {
    String t = WARN.matcher(s).replaceAll("");
    t = t.replace(endpoint, "<endpoint>");
    t = HEX_ID.matcher(t).replaceAll("<id>");
    t = DEC_ID.matcher(t).replaceAll("<n>");
    t = TOOK.matcher(t).replaceAll("took <t>");
    t = TOOK_JSON.matcher(t).replaceAll("\"took\":\"<t>\"");
    t = ADDRESS.matcher(t).replaceAll("<address>");
    t = DB_SIZE.matcher(t).replaceAll("<size>");
    if (t.startsWith("+-")) {
      // a table's column widths follow the id's length (hex without leading zeros)
      t = t.replaceAll("-{2,}", "--").replaceAll(" {2,}", " ");
    }
    return t;
  }

  /** Each row: optional stdin (after "<<<"), then the arguments. */
  static final String TXN_OK = "value(\"foo\") = \"bar\"\n\nput a 1\nget foo\ndel zz\n\n\n";

  static final String TXN_FAIL =
      "mod(\"foo\") > \"100\"\n\nput a 1\n\nget foo\nput b 2 --prev-kv\ndel a --prev-kv\n\n";

  static final String[][] COMMANDS = {
    {"put", "foo", "bar"},
    {"put", "foo2", "bar2", "-w", "json"},
    {"put", "foo", "baz", "--prev-kv"},
    {"put", "foo3", "v", "-w", "fields", "--prev-kv"},
    {"put", "key with space", "va\"lue\n"},
    {"put", "foo", "--ignore-value", "-w", "json", "--prev-kv"},
    {"put"},
    {"put", "k", "v", "--lease=zz"},
    {"put", "k", "v", "--lease=1234"},
    {"get", "foo"},
    {"get", "foo", "--hex"},
    {"get", "foo", "-w", "json"},
    {"get", "foo", "-w", "fields"},
    {"get", "foo", "-w", "table"},
    {"get", "--prefix", "foo"},
    {"get", "--prefix", "", "--keys-only"},
    {"get", "--from-key", "foo2", "-w", "json"},
    {"get", "foo", "foo3"},
    {"get", "--prefix", "f", "--sort-by=VALUE", "--order=DESCEND"},
    {"get", "--prefix", "f", "--sort-by=MODIFY", "--order=ASCEND", "--limit=2", "-w", "json"},
    {"get", "--prefix", "f", "--sort-by=BOGUS"},
    {"get", "--prefix", "f", "--order=sideways"},
    {"get", "foo", "--rev=2", "--print-value-only"},
    {"get", "foo", "--print-value-only", "-w", "json"},
    {"get", "foo", "--consistency=s", "-w", "json"},
    {"get", "foo", "--consistency=x"},
    {"get", "key with space", "-w", "fields"},
    {"get"},
    {"get", "--prefix", "--from-key", "a"},
    {"--write-out=json", "get", "foo"},
    {"<<<" + TXN_OK, "txn"},
    {"<<<" + TXN_FAIL, "txn", "-w", "json"},
    {"<<<" + TXN_FAIL, "txn", "-w", "fields"},
    {"<<<" + TXN_OK, "txn", "-i"},
    {"<<<value(\"foo\") = \"bar\"\n", "txn"},
    {"del", "foo3"},
    {"del", "nokey", "-w", "json"},
    {"del", "--prefix", "foo", "--prev-kv"},
    {"del", "a", "--from-key", "-w", "fields"},
    {"del"},
    {"compaction", "3"},
    {"compaction", "2"},
    {"compaction", "1000"},
    {"compaction", "x"},
    {"get", "foo", "--rev=2"},
    {"lease", "grant", "100", "-w", "json"},
    {"lease", "grant", "x"},
    {"lease", "revoke", "1234"},
    {"lease", "timetolive", "1234"},
    {"lease", "list"},
    {"lease", "keep-alive", "--once", "1234"},
    {"member", "list"},
    {"member", "list", "-w", "table"},
    {"member", "list", "-w", "json"},
    {"member", "list", "-w", "fields"},
    {"member", "remove", "zz"},
    {"member", "remove", "1234"},
    {"member", "update", "1234", "--peer-urls=http://127.0.0.1:1"},
    {"member", "promote", "1234"},
    {"endpoint", "status", "-w", "table"},
    {"endpoint", "status", "-w", "fields"},
    {"endpoint", "health"},
    {"endpoint", "health", "-w", "json"},
    {"endpoint", "hashkv", "-w", "json"},
    {"endpoint", "hashkv", "--cluster"},
    {"alarm", "list"},
    {"alarm", "list", "-w", "json"},
    {"alarm", "disarm"},
    {"defrag"},
    {"role", "add", "r1"},
    {"role", "add", "r1"},
    {"role", "grant-permission", "r1", "read", "/a/", "--prefix"},
    {"role", "grant-permission", "r1", "readwrite", "k1"},
    {"role", "grant-permission", "r1", "write", "x", "--from-key"},
    {"role", "grant-permission", "r1", "write", "b", "c"},
    {"role", "get", "r1"},
    {"role", "get", "r1", "-w", "json"},
    {"role", "list"},
    {"role", "revoke-permission", "r1", "/a/", "--prefix"},
    {"role", "revoke-permission", "r1", "k1"},
    {"role", "revoke-permission", "r1", "nope"},
    {"user", "add", "u1:pw"},
    {"user", "add", "u1:pw"},
    {"user", "grant-role", "u1", "r1"},
    {"user", "get", "u1"},
    {"user", "get", "u1", "--detail"},
    {"user", "list"},
    {"user", "list", "-w", "json"},
    {"user", "get", "nobody"},
    {"<<<pw2\n", "user", "passwd", "u1", "--interactive=false"},
    {"user", "revoke-role", "u1", "r1"},
    {"auth", "enable"},
    {"user", "add", "root:rootpw"},
    {"user", "grant-role", "root", "root"},
    {"auth", "enable"},
    {"get", "foo"},
    {"--user=u1:pw2", "get", "foo"},
    {"--user=u1:wrong", "get", "foo"},
    {"--user=root:rootpw", "put", "foo", "secured"},
    {"--user=root", "--password=rootpw", "get", "foo"},
    {"--user=root:rootpw", "auth", "disable"},
    {"user", "delete", "u1"},
    {"role", "delete", "r1"},
    {"lock", "L1", "printenv", "ETCD_LOCK_KEY"},
    {"lock", "L1", "false"},
    {"move-leader", "1234"},
  };

  @Test
  void etchctlPrintsWhatEtcdctlPrints() throws Exception {
    List<String> diffs = new ArrayList<>();
    for (String[] row : COMMANDS) {
      String stdin = null;
      String[] args = row;
      if (row.length > 0 && row[0].startsWith("<<<")) {
        stdin = row[0].substring(3);
        args = java.util.Arrays.copyOfRange(row, 1, row.length);
      }
      Result a = etcdctl(forEtcdctl.endpoint, stdin, args);
      Result b = etchctl(forEtchctl.endpoint, stdin, args);
      String what = String.join(" ", args);
      String ao = normalize(a.out(), forEtcdctl.endpoint);
      String bo = normalize(b.out(), forEtchctl.endpoint);
      String ae = normalize(a.err(), forEtcdctl.endpoint);
      String be = normalize(b.err(), forEtchctl.endpoint);
      // etcdctl prints its usage after an argument error; the first line is the error.
      if (ae.startsWith("Error: ") && ae.contains("\n")) {
        ae = ae.substring(0, ae.indexOf('\n') + 1);
      }
      if (a.exit() != b.exit() || !ao.equals(bo) || !ae.equals(be)) {
        diffs.add(
            what
                + "\n  etcdctl exit "
                + a.exit()
                + " out["
                + ao
                + "] err["
                + ae
                + "]\n  etchctl exit "
                + b.exit()
                + " out["
                + bo
                + "] err["
                + be
                + "]");
      }
    }
    assertThat(diffs).as(String.join("\n", diffs)).isEmpty();
  }
}
