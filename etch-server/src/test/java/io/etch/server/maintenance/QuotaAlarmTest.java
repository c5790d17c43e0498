package io.etch.server.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.etcdserverpb.DefragmentRequest;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.server.EtchServer;
import io.etch.server.etcdctl.Etcdctl;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --quota-backend-bytes}: a member filled past its quota raises NOSPACE through raft and
 * refuses what adds data with etcd's error; deletes, compaction and defragment still run and
 * reclaim space; the alarm survives a restart; {@code etcdctl alarm disarm} clears it, writes
 * resume, and every write acknowledged before is still there.
 */
class QuotaAlarmTest {
  @TempDir Path dir;

  private static final int QUOTA = 8 << 20;

  static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  @Test
  void fillingPastTheQuotaRaisesNospaceUntilDisarmedAndLosesNothing() throws Exception {
    int port = TestServer.freePort();
    String endpoint = "127.0.0.1:" + port;
    EtchServer[] servers = {
      TestServer.start(dir.resolve("data"), port, "--quota-backend-bytes=" + QUOTA)
    };
    ManagedChannel[] channels = {TestServer.channel(port)};
    try {
      EtchServer server = servers[0];
      ManagedChannel ch = channels[0];
      var kv = KVGrpc.newBlockingStub(ch);
      ByteString value = ByteString.copyFrom(new byte[16 * 1024]);
      List<String> acked = new ArrayList<>();
      StatusRuntimeException refused = null;
      for (int i = 0; i < 10_000 && refused == null; i++) {
        String key = String.format("k%05d", i);
        try {
          kv.put(PutRequest.newBuilder().setKey(bs(key)).setValue(value).build());
          acked.add(key);
        } catch (StatusRuntimeException e) {
          refused = e;
        }
      }
      assertThat(refused).as("a put past the quota is refused").isNotNull();
      assertNoSpace(refused);
      assertThat(acked.size()).isGreaterThan(100);
      long memberId = server.memberId();
      Poll.await(
          () -> server.alarms().raised(io.etch.api.etcdserverpb.AlarmType.NOSPACE), "NOSPACE");
      Etcdctl.Result list = Etcdctl.run(endpoint, null, List.of("alarm", "list"));
      assertThat(list.exit()).isZero();
      assertThat(list.out().trim())
          .isEqualTo("memberID:" + Long.toUnsignedString(memberId) + " alarm:NOSPACE");

      // While raised: puts, txns with puts and lease grants refused; reads and deletes served.
      assertThatThrownBy(() -> kv.put(PutRequest.newBuilder().setKey(bs("x")).build()))
          .satisfies(e -> assertNoSpace((StatusRuntimeException) e));
      RequestOp put =
          RequestOp.newBuilder()
              .setRequestPut(PutRequest.newBuilder().setKey(bs("x")).build())
              .build();
      assertThatThrownBy(() -> kv.txn(TxnRequest.newBuilder().addSuccess(put).build()))
          .satisfies(e -> assertNoSpace((StatusRuntimeException) e));
      assertThatThrownBy(
              () ->
                  LeaseGrpc.newBlockingStub(ch)
                      .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build()))
          .satisfies(e -> assertNoSpace((StatusRuntimeException) e));
      RequestOp get =
          RequestOp.newBuilder()
              .setRequestRange(RangeRequest.newBuilder().setKey(bs(acked.get(0))).build())
              .build();
      assertThat(kv.txn(TxnRequest.newBuilder().addSuccess(get).build()).getSucceeded()).isTrue();
      assertThat(kv.range(RangeRequest.newBuilder().setKey(bs(acked.get(0))).build()).getCount())
          .isEqualTo(1);

      // Reclaim: delete the older half, compact, defragment.
      int half = acked.size() / 2;
      long rev =
          kv.deleteRange(
                  DeleteRangeRequest.newBuilder()
                      .setKey(bs(acked.get(0)))
                      .setRangeEnd(bs(acked.get(half)))
                      .build())
              .getHeader()
              .getRevision();
      kv.compact(CompactionRequest.newBuilder().setRevision(rev).setPhysical(true).build());
      long before = server.store().sizeOnDisk();
      MaintenanceGrpc.newBlockingStub(ch).defragment(DefragmentRequest.getDefaultInstance());
      long after = server.store().sizeOnDisk();
      assertThat(after).as("defragment reclaims (was %d)", before).isLessThan(QUOTA / 2);
      // Still raised: space alone does not disarm, as etcd.
      assertThatThrownBy(() -> kv.put(PutRequest.newBuilder().setKey(bs("x")).build()))
          .satisfies(e -> assertNoSpace((StatusRuntimeException) e));

      // The alarm is persisted: it is still raised after a restart.
      TestServer.close(ch);
      server.close();
      servers[0] = null;
      servers[0] = TestServer.start(dir.resolve("data"), port, "--quota-backend-bytes=" + QUOTA);
      channels[0] = TestServer.channel(port);
      var kv2 = KVGrpc.newBlockingStub(channels[0]);
      assertThat(servers[0].alarms().raised(io.etch.api.etcdserverpb.AlarmType.NOSPACE)).isTrue();

      Etcdctl.Result disarm = Etcdctl.run(endpoint, null, List.of("alarm", "disarm"));
      assertThat(disarm.exit()).as(disarm.err()).isZero();
      assertThat(disarm.out().trim())
          .isEqualTo("memberID:" + Long.toUnsignedString(memberId) + " alarm:NOSPACE");
      assertThat(Etcdctl.run(endpoint, null, List.of("alarm", "list")).out()).isEmpty();
      Thread.sleep(150); // past the quota's size refresh
      kv2.put(PutRequest.newBuilder().setKey(bs("resumed")).setValue(bs("1")).build());

      // Nothing acknowledged is lost: every key not deleted holds its value.
      var all =
          kv2.range(
              RangeRequest.newBuilder()
                  .setKey(bs("k"))
                  .setRangeEnd(bs("l"))
                  .setKeysOnly(true)
                  .build());
      List<String> keys = new ArrayList<>();
      all.getKvsList().forEach(k -> keys.add(k.getKey().toStringUtf8()));
      assertThat(keys).isEqualTo(acked.subList(half, acked.size()));
      for (String k : keys) {
        assertThat(kv2.range(RangeRequest.newBuilder().setKey(bs(k)).build()).getKvs(0).getValue())
            .isEqualTo(value);
      }
    } finally {
      TestServer.close(channels[0]);
      if (servers[0] != null) {
        servers[0].close();
      }
    }
  }

  private static void assertNoSpace(StatusRuntimeException e) {
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getStatus().getDescription())
        .isEqualTo("etcdserver: mvcc: database space exceeded");
  }

  /** Minimal polling (the cluster package's helper is package-private there). */
  static final class Poll {
    static void await(java.util.function.BooleanSupplier cond, String what) throws Exception {
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!cond.getAsBoolean()) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("timed out waiting for " + what);
        }
        Thread.sleep(20);
      }
    }
  }
}
