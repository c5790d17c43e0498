package io.etch.server.etcdctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcdctl against a real etcd 3.4 and against etch, the same commands from empty: what the user
 * sees must be the same (see {@link SideBySide} for what is normalized).
 */
class EtcdctlCompatTest {
  @TempDir Path dir;
  SideBySide both;

  @BeforeEach
  void start() throws Exception {
    both = SideBySide.start(dir);
  }

  @AfterEach
  void stop() throws Exception {
    if (both != null) {
      both.close();
    }
  }

  void seed() throws Exception {
    for (String[] kv :
        new String[][] {
          {"a", "1"},
          {"b", "2"},
          {"c", "3"},
          {"foo", "bar"},
          {"foo1", "bar1"},
          {"foo2", "bar0"},
          {"zoo", "z"},
          {"a", "11"}
        }) {
      both.same("put", kv[0], kv[1]);
    }
  }

  @Test
  void putAndGetWithEveryFlagPrintAsEtcd() throws Exception {
    seed();
    both.same("get", "a");
    both.same("get", "a", "-w", "json");
    both.same("get", "a", "--rev=2");
    both.same("get", "a", "--rev=2", "-w", "json");
    both.same("get", "missing", "-w", "json");
    both.same("get", "a", "c");
    both.same("get", "a", "c", "-w", "json");
    both.same("get", "--prefix", "foo");
    both.same("get", "--prefix", "foo", "-w", "json");
    both.same("get", "--prefix", "foo", "--limit=2");
    both.same("get", "--prefix", "foo", "--limit=2", "-w", "json");
    both.same("get", "--from-key", "b");
    both.same("get", "--from-key", "b", "--keys-only");
    both.same("get", "--from-key", "", "--keys-only", "-w", "json");
    both.same("get", "--prefix", "foo", "--print-value-only");
    both.same("get", "--prefix", "", "--sort-by=VALUE", "--order=DESCEND");
    both.same("get", "--prefix", "", "--sort-by=MODIFY", "--order=ASCEND", "-w", "json");
    both.same("get", "--prefix", "foo", "--sort-by=CREATE", "--order=DESCEND", "--limit=2");
    both.same("get", "--prefix", "", "--sort-by=VERSION", "--keys-only");
    both.same("get", "--prefix", "", "--sort-by=KEY", "--order=DESCEND", "-w", "json");
    both.same("get", "--prefix", "foo", "--count-only", "-w", "json");
    both.same("get", "--prefix", "foo", "--consistency=s", "-w", "json");
    both.same("put", "a", "12", "--prev-kv");
    both.same("put", "a", "13", "--prev-kv", "-w", "json");
    both.same("put", "new", "v", "--prev-kv", "-w", "json");
    both.same("put", "a", "--ignore-value", "-w", "json");
    both.same("put", "nothere", "--ignore-value");
    both.same("get", "a", "-w", "json");
    both.same("get", "--rev=5", "--prefix", "", "-w", "json");
  }

  @Test
  void deleteWithPrefixAndPrevKvPrintsAsEtcd() throws Exception {
    seed();
    both.same("del", "a");
    both.same("del", "a");
    both.same("del", "--prev-kv", "b", "-w", "json");
    both.same("del", "--prefix", "foo", "--prev-kv");
    both.same("del", "--prefix", "foo", "-w", "json");
    both.same("put", "foo", "again");
    both.same("get", "--prefix", "", "-w", "json");
    both.same("del", "--from-key", "c", "-w", "json");
    both.same("get", "--prefix", "", "-w", "json");
  }

  @Test
  void txnInItsInteractiveFormPrintsAsEtcd() throws Exception {
    seed();
    String succeeds = "value(\"a\") = \"11\"\n\nput t1 v1\nget a\n\nput t2 x\n\n";
    both.sameWithInput(succeeds, "txn");
    both.sameWithInput(succeeds, "txn", "-w", "json");
    String fails =
        "mod(\"a\") > \"100\"\nversion(\"b\") = \"1\"\n\nput t3 x\n\ndel --prefix foo\nget b\n\n";
    both.sameWithInput(fails, "txn");
    both.sameWithInput("create(\"zoo\") = \"8\"\n\nget zoo\n\nget a\n\n", "txn", "-w", "json");
    // The prompting form: etcdctl prints its prompts, then the result.
    both.sameWithInput("value(\"t1\") = \"v1\"\n\ndel t1 --prev-kv\n\n\n", "txn", "-i");
    both.same("get", "--prefix", "", "-w", "json");
  }

  @Test
  void compactionAndReadsAroundItAnswerAsEtcd() throws Exception {
    seed();
    both.same("compaction", "5");
    both.same("get", "a", "--rev=4");
    both.same("get", "a", "--rev=5", "-w", "json");
    both.same("get", "a", "--rev=100");
    both.same("compaction", "5");
    both.same("compaction", "3");
    both.same("compaction", "100");
    both.same("compaction", "--physical", "7");
    both.same("get", "--prefix", "", "--rev=7", "-w", "json");
  }

  @Test
  void endpointStatusAndMemberListAnswerAsEtcd() throws Exception {
    both.same("put", "a", "1");
    both.same("endpoint", "status", "-w", "json");
    both.same("member", "list", "-w", "json");
    both.same("member", "list");
    both.same("alarm", "list");
    both.same("alarm", "disarm");
    both.same("defrag");
    // etcd's HashKV hashes the stored history byte for byte: the same writes, the same hash.
    both.same("put", "b", "2");
    both.same("del", "a");
    both.same("endpoint", "hashkv", "-w", "json");
    both.same("compaction", "3");
    SideBySide.Pair compacted = both.run(null, "endpoint", "hashkv", "-w", "json");
    assertThat(hashKv(compacted.etch()).get("compact_revision").getAsLong())
        .isEqualTo(hashKv(compacted.etcd()).get("compact_revision").getAsLong())
        .isEqualTo(3);
    // Fields left out of the comparison are checked on their own.
    SideBySide.Pair p = both.run(null, "endpoint", "status", "-w", "json");
    JsonObject etch =
        JsonParser.parseString(p.etch().out())
            .getAsJsonArray()
            .get(0)
            .getAsJsonObject()
            .getAsJsonObject("Status");
    assertThat(etch.get("version").getAsString()).isEqualTo("3.5.13");
    assertThat(etch.get("leader").getAsString())
        .isEqualTo(etch.getAsJsonObject("header").get("member_id").getAsString())
        .isEqualTo(Long.toUnsignedString(both.etch.memberId()));
    assertThat(etch.get("raftIndex").getAsLong())
        .isEqualTo(etch.get("raftAppliedIndex").getAsLong())
        .isEqualTo(both.etch.raft().appliedIndex());
    assertThat(etch.get("dbSize").getAsLong()).isPositive();
    // The text form: the same columns, member id, version and size left aside.
    SideBySide.Pair text = both.run(null, "endpoint", "status");
    assertThat(columnsWithout(both.normalize(text.etch().out(), false)))
        .isEqualTo(columnsWithout(both.normalize(text.etcd().out(), true)));
  }

  /**
   * After a compaction etcd (3.4 and 3.5) hashes the revisions below the compaction that its key
   * index keeps at the <em>hash</em> revision ({@code kvindex.Keep(rev)}): here key a, deleted
   * after the compaction point, is not hashed.
   */
  @Test
  void hashKvAfterACompactionMatchesEtcd() throws Exception {
    both.same("put", "a", "1");
    both.same("put", "b", "2");
    both.same("del", "a");
    both.same("compaction", "3");
    both.same("endpoint", "hashkv", "-w", "json");
  }

  /** Read-only txns are answered outside raft; compares and ranges still match etcd's. */
  @Test
  void readOnlyTxnsCompareAndReadLikeEtcd() throws Exception {
    both.same("put", "a", "1");
    both.same("put", "b1", "2");
    both.same("put", "b2", "3");
    both.sameWithInput(
        "value(\"a\") = \"1\"\n\nget a\nget b --prefix\n\nget b1\n\n", "txn", "-w", "json");
    both.sameWithInput(
        "version(\"missing\") = \"0\"\nmod(\"b2\") > \"3\"\n\nget a\n\nget b2\n\n",
        "txn",
        "-w",
        "json");
    both.sameWithInput("value(\"a\") != \"1\"\n\nget a\n\nget missing\n\n", "txn", "-w", "json");
  }

  private static JsonObject hashKv(Etcdctl.Result r) {
    return JsonParser.parseString(r.out())
        .getAsJsonArray()
        .get(0)
        .getAsJsonObject()
        .getAsJsonObject("HashKV");
  }

  /** endpoint status' text row without its version and db size columns. */
  private static String columnsWithout(String row) {
    String[] c = row.split(", ");
    return c[0] + ", " + c[1] + ", " + c[4] + ", " + c[5] + ", " + c[6];
  }
}
