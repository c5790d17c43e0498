package io.etch.server.kv;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etch.server.EtchServer;
import io.etch.server.maintenance.TestServer;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The KV service through jetcd over a real socket, against a one-member etch. */
class KvJetcdTest {
  @TempDir Path dir;
  EtchServer server;
  Client client;
  KV kv;
  int port;

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  EtchServer start() throws Exception {
    return TestServer.start(dir.resolve("data"), port);
  }

  @BeforeEach
  void setUp() throws Exception {
    port = TestServer.freePort();
    server = start();
    client = Client.builder().endpoints("http://127.0.0.1:" + port).build();
    kv = client.getKVClient();
  }

  @AfterEach
  void tearDown() {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void putThenGetReturnsValueWithRevisions() throws Exception {
    long before = kv.get(b("nothing")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
    assertThat(before).isEqualTo(1); // an empty store is at revision 1, as etcd's
    PutResponse p = kv.put(b("foo"), b("bar")).get(10, TimeUnit.SECONDS);
    long rev = p.getHeader().getRevision();
    assertThat(rev).isEqualTo(before + 1); // each write transaction takes the next revision
    GetResponse g = kv.get(b("foo")).get(10, TimeUnit.SECONDS);
    assertThat(g.getKvs()).hasSize(1);
    assertThat(g.getKvs().get(0).getValue()).isEqualTo(b("bar"));
    assertThat(g.getKvs().get(0).getCreateRevision()).isEqualTo(rev);
    assertThat(g.getKvs().get(0).getModRevision()).isEqualTo(rev);
    assertThat(g.getKvs().get(0).getVersion()).isEqualTo(1);
    assertThat(g.getHeader().getMemberId()).isEqualTo(server.memberId());
    assertThat(g.getHeader().getClusterId()).isEqualTo(server.clusterId());
    assertThat(g.getHeader().getRaftTerm()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void putWithPrevKvAndPrefixGetAndDelete() throws Exception {
    kv.put(b("/a/1"), b("x")).get(10, TimeUnit.SECONDS);
    kv.put(b("/a/2"), b("y")).get(10, TimeUnit.SECONDS);
    PutResponse p =
        kv.put(b("/a/1"), b("z"), PutOption.builder().withPrevKV().build())
            .get(10, TimeUnit.SECONDS);
    assertThat(p.hasPrevKv()).isTrue();
    assertThat(p.getPrevKv().getValue()).isEqualTo(b("x"));
    GetResponse g =
        kv.get(b("/a/"), GetOption.builder().isPrefix(true).build()).get(10, TimeUnit.SECONDS);
    assertThat(g.getCount()).isEqualTo(2);
    var d =
        kv.delete(b("/a/"), DeleteOption.builder().isPrefix(true).withPrevKV(true).build())
            .get(10, TimeUnit.SECONDS);
    assertThat(d.getDeleted()).isEqualTo(2);
    assertThat(d.getPrevKvs()).hasSize(2);
    assertThat(kv.get(b("/a/1")).get(10, TimeUnit.SECONDS).getKvs()).isEmpty();
  }

  @Test
  void txnCompareAndSwap() throws Exception {
    long rev = kv.put(b("k"), b("v1")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
    var ok =
        kv.txn()
            .If(new Cmp(b("k"), Cmp.Op.EQUAL, CmpTarget.modRevision(rev)))
            .Then(Op.put(b("k"), b("v2"), PutOption.DEFAULT))
            .Else(Op.get(b("k"), GetOption.DEFAULT))
            .commit()
            .get(10, TimeUnit.SECONDS);
    assertThat(ok.isSucceeded()).isTrue();
    var stale =
        kv.txn()
            .If(new Cmp(b("k"), Cmp.Op.EQUAL, CmpTarget.modRevision(rev)))
            .Then(Op.put(b("k"), b("v3"), PutOption.DEFAULT))
            .Else(Op.get(b("k"), GetOption.DEFAULT))
            .commit()
            .get(10, TimeUnit.SECONDS);
    assertThat(stale.isSucceeded()).isFalse();
    assertThat(stale.getGetResponses().get(0).getKvs().get(0).getValue()).isEqualTo(b("v2"));
  }

  @Test
  void emptyKeyIsRejectedWithEtcdError() {
    assertThatThrownBy(() -> kv.put(b(""), b("x")).get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("etcdserver: key is not provided");
  }

  @Test
  void compactedRevisionIsRejectedWithEtcdError() throws Exception {
    long r1 = kv.put(b("c"), b("1")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
    long r2 = kv.put(b("c"), b("2")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
    client.getKVClient().compact(r2).get(10, TimeUnit.SECONDS);
    assertThatThrownBy(
            () ->
                kv.get(b("c"), GetOption.builder().withRevision(r1).build())
                    .get(10, TimeUnit.SECONDS))
        .hasMessageContaining("mvcc: required revision has been compacted");
  }

  @Test
  void acknowledgedWritesSurviveRestartWithTheSameRevisions() throws Exception {
    long last = 0;
    for (int i = 0; i < 50; i++) {
      last =
          kv.put(b("key" + i), b("value" + i)).get(10, TimeUnit.SECONDS).getHeader().getRevision();
    }
    client.close();
    server.close();
    server = start();
    client = Client.builder().endpoints("http://127.0.0.1:" + port).build();
    kv = client.getKVClient();
    GetResponse g = kv.get(b("key49")).get(20, TimeUnit.SECONDS);
    assertThat(g.getKvs().get(0).getValue()).isEqualTo(b("value49"));
    assertThat(g.getKvs().get(0).getModRevision()).isEqualTo(last);
    assertThat(g.getHeader().getRevision()).isEqualTo(last);
    assertThat(kv.put(b("after"), b("restart")).get(10, TimeUnit.SECONDS).getHeader().getRevision())
        .isEqualTo(last + 1);
  }
}
