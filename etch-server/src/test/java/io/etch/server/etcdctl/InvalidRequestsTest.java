package io.etch.server.etcdctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.server.maintenance.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Limits and bad input, against etcd and etch started with the same small limits: each is answered
 * with etcd's error, and none of them changes the data or the revision.
 */
class InvalidRequestsTest {
  @TempDir Path dir;
  SideBySide both;

  static final int MAX_REQUEST_BYTES = 1024;
  static final int MAX_TXN_OPS = 3;

  @BeforeEach
  void start() throws Exception {
    both =
        SideBySide.start(
            dir, "--max-request-bytes=" + MAX_REQUEST_BYTES, "--max-txn-ops=" + MAX_TXN_OPS);
  }

  @AfterEach
  void stop() throws Exception {
    if (both != null) {
      both.close();
    }
  }

  @Test
  void aBurstOfInvalidRequestsIsRefusedAsEtcdAndChangesNothing() throws Exception {
    both.same("put", "a", "1");
    both.same("put", "b", "2");
    both.same("compaction", "3");
    both.same("put", "a", "3");
    SideBySide.Pair before = both.same("get", "--prefix", "", "-w", "json");
    long etchRevision = both.etch.store().currentRevision();
    int etchHash = both.etch.store().hashKV(0).hash();

    // etcd's --max-request-bytes counts the whole raft request: 1000 bytes of value fail at 1024.
    both.same("put", "big", "x".repeat(MAX_REQUEST_BYTES));
    both.same("put", "k".repeat(900), "v".repeat(200));
    // Reads never enter the raft log: etcd does not hold them to --max-request-bytes.
    both.same("get", "k".repeat(2000));
    both.same("put", "", "v");
    both.same("get", "");
    both.same("del", "");
    both.same("get", "a", "--rev=2");
    both.same("get", "a", "--rev=99");
    both.same("compaction", "2");
    both.same("compaction", "99");
    // More than --max-txn-ops operations in one branch, then a key written twice.
    both.sameWithInput("\nput a 1\nput b 2\nput c 3\nput d 4\n\n\n", "txn");
    both.sameWithInput("\nput a 1\nput a 2\n\n\n", "txn");
    both.sameWithInput("value(\"a\") = \"3\"\n\nput x 1\ndel x\n\n\n", "txn");
    // Past gRPC's own limit (max-request-bytes + 512 KiB) the transport refuses the message before
    // etcd sees it; grpc-go and grpc-java word that differently, the code is the same.
    SideBySide.Pair huge = both.run("x".repeat(600_000), "put", "huge");
    assertThat(huge.etch().exit()).isEqualTo(huge.etcd().exit()).isEqualTo(1);
    assertThat(huge.etcd().err()).contains("code = ResourceExhausted");
    assertThat(huge.etch().err()).contains("code = ResourceExhausted");

    SideBySide.Pair after = both.same("get", "--prefix", "", "-w", "json");
    assertThat(after.etch().out()).isEqualTo(before.etch().out());
    assertThat(after.etcd().out()).isEqualTo(before.etcd().out());
    assertThat(both.etch.store().currentRevision()).isEqualTo(etchRevision);
    assertThat(both.etch.store().hashKV(0).hash()).isEqualTo(etchHash);
  }

  @Test
  void invalidSortOptionsAndEmptyTxnKeysAreRefusedOverTheWire() throws Exception {
    long revision = both.etch.store().currentRevision();
    // etcdctl validates sort flags itself; a raw client can send any enum number. etcd 3.5 (whose
    // version etch reports) refuses it with ErrGRPCInvalidSortOption; Debian's etcd 3.4 predates
    // that check, so etch is held to the 3.5 answer here.
    RangeRequest badOrder =
        RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("a")).setSortOrderValue(7).build();
    RangeRequest badTarget =
        RangeRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8("a"))
            .setSortTargetValue(9)
            .build();
    for (RangeRequest bad : java.util.List.of(badOrder, badTarget)) {
      StatusRuntimeException e = errorOf(both.etchUrl, kv -> kv.range(bad));
      assertThat(e).isNotNull();
      assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).isEqualTo("etcdserver: invalid sort option");
    }
    assertSameError(kv -> kv.txn(TxnRequest.newBuilder().addSuccess(emptyKeyPut()).build()));
    assertThat(both.etch.store().currentRevision()).isEqualTo(revision);
  }

  @Test
  void putWithAnUnknownLeaseIsRefusedAsEtcdAndChangesNothing() throws Exception {
    both.same("put", "a", "1");
    long revision = both.etch.store().currentRevision();
    both.same("put", "a", "9", "--lease=1234");
    both.same("get", "a", "-w", "json");
    assertThat(both.etch.store().currentRevision()).isEqualTo(revision);
  }

  @Test
  void aReadOnlyTxnIsNotHeldToMaxRequestBytes() throws Exception {
    both.same("put", "a", "1");
    // etcd answers read-only txns after a read barrier, outside the raft log.
    both.sameWithInput("\nget " + "k".repeat(2000) + "\nget a\n\n\n", "txn", "-w", "json");
  }

  private static io.etch.api.etcdserverpb.RequestOp emptyKeyPut() {
    return io.etch.api.etcdserverpb.RequestOp.newBuilder()
        .setRequestPut(io.etch.api.etcdserverpb.PutRequest.getDefaultInstance())
        .build();
  }

  private void assertSameError(Consumer<KVGrpc.KVBlockingStub> call) throws Exception {
    StatusRuntimeException etcd = errorOf(both.etcd.clientUrl, call);
    StatusRuntimeException etch = errorOf(both.etchUrl, call);
    assertThat(etcd).as("etcd refuses it").isNotNull();
    assertThat(etch).as("etch refuses it").isNotNull();
    assertThat(etch.getStatus().getCode()).isEqualTo(etcd.getStatus().getCode());
    assertThat(etch.getStatus().getDescription()).isEqualTo(etcd.getStatus().getDescription());
  }

  private static StatusRuntimeException errorOf(String url, Consumer<KVGrpc.KVBlockingStub> call)
      throws Exception {
    ManagedChannel ch = TestServer.channel(URI.create(url).getPort());
    try {
      call.accept(KVGrpc.newBlockingStub(ch));
      return null;
    } catch (StatusRuntimeException e) {
      return e;
    } finally {
      TestServer.close(ch);
    }
  }
}
