package io.etch.server.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.AlarmRequest;
import io.etch.api.etcdserverpb.AlarmResponse;
import io.etch.api.etcdserverpb.AlarmType;
import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.etcdserverpb.DefragmentRequest;
import io.etch.api.etcdserverpb.HashKVRequest;
import io.etch.api.etcdserverpb.HashKVResponse;
import io.etch.api.etcdserverpb.HashRequest;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.PutResponse;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.api.etcdserverpb.StatusResponse;
import io.etch.server.EtchServer;
import io.etch.server.Main;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd's Maintenance service on a one-member etch, over a real socket with etcd's stubs. */
class MaintenanceServiceTest {
  @TempDir Path dir;
  EtchServer server;
  ManagedChannel ch;
  MaintenanceGrpc.MaintenanceBlockingStub maint;
  KVGrpc.KVBlockingStub kv;

  @BeforeEach
  void setUp() throws Exception {
    int port = TestServer.freePort();
    server = TestServer.start(dir.resolve("data"), port);
    ch = TestServer.channel(port);
    maint = MaintenanceGrpc.newBlockingStub(ch);
    kv = KVGrpc.newBlockingStub(ch);
  }

  @AfterEach
  void tearDown() throws Exception {
    TestServer.close(ch);
    if (server != null) {
      server.close();
    }
  }

  PutResponse put(String k, String v) {
    return kv.put(
        PutRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8(k))
            .setValue(ByteString.copyFromUtf8(v))
            .build());
  }

  @Test
  void statusReportsTheEtcdCompatibleVersionLeaderAndRaftProgress() {
    long rev = put("a", "1").getHeader().getRevision();
    StatusResponse s = maint.status(StatusRequest.getDefaultInstance());
    assertThat(s.getVersion()).isEqualTo(Main.ETCD_COMPATIBLE_VERSION).isEqualTo("3.5.13");
    assertThat(s.getHeader().getClusterId()).isEqualTo(server.clusterId());
    assertThat(s.getHeader().getMemberId()).isEqualTo(server.memberId());
    assertThat(s.getHeader().getRevision()).isEqualTo(rev);
    assertThat(s.getHeader().getRaftTerm()).isEqualTo(s.getRaftTerm()).isPositive();
    assertThat(s.getLeader()).isEqualTo(server.memberId());
    // The put was applied before it was answered: applied and committed cover it.
    assertThat(s.getRaftAppliedIndex()).isGreaterThanOrEqualTo(3);
    assertThat(s.getRaftIndex()).isGreaterThanOrEqualTo(s.getRaftAppliedIndex());
    assertThat(s.getDbSize()).isPositive();
    assertThat(s.getDbSizeInUse()).isPositive().isLessThanOrEqualTo(s.getDbSize());
    assertThat(s.getIsLearner()).isFalse();
    assertThat(s.getErrorsList()).isEmpty();
    long before = s.getRaftAppliedIndex();
    put("b", "2");
    assertThat(maint.status(StatusRequest.getDefaultInstance()).getRaftAppliedIndex())
        .isEqualTo(before + 1);
  }

  @Test
  void hashKvCoversHistoryUpToTheRevisionAndReportsCompaction() {
    put("a", "1");
    long r2 = put("b", "2").getHeader().getRevision();
    HashKVResponse at2 = maint.hashKV(HashKVRequest.newBuilder().setRevision(r2).build());
    assertThat(at2.getCompactRevision()).isEqualTo(-1); // etcd: -1 until the first compaction
    assertThat(at2.getHashRevision()).isEqualTo(r2);
    long r3 = put("c", "3").getHeader().getRevision();
    // Hashing at an older revision ignores later writes; the newest one includes them.
    assertThat(maint.hashKV(HashKVRequest.newBuilder().setRevision(r2).build()).getHash())
        .isEqualTo(at2.getHash());
    HashKVResponse latest = maint.hashKV(HashKVRequest.getDefaultInstance());
    assertThat(latest.getHash()).isNotEqualTo(at2.getHash());
    assertThat(latest.getHeader().getRevision()).isEqualTo(r3);
    assertThat(latest.getHash()).isEqualTo(server.store().hashKV(0).hash());

    kv.compact(CompactionRequest.newBuilder().setRevision(r2).setPhysical(true).build());
    assertThat(maint.hashKV(HashKVRequest.getDefaultInstance()).getCompactRevision()).isEqualTo(r2);
    assertThatThrownBy(() -> maint.hashKV(HashKVRequest.newBuilder().setRevision(1).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("etcdserver: mvcc: required revision has been compacted");
            });
    assertThatThrownBy(() -> maint.hashKV(HashKVRequest.newBuilder().setRevision(r3 + 10).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e ->
                assertThat(e.getStatus().getDescription())
                    .isEqualTo("etcdserver: mvcc: required revision is a future revision"));
  }

  @Test
  void hashChangesWithWritesNotWithReads() {
    put("a", "1");
    int h1 = maint.hash(HashRequest.getDefaultInstance()).getHash();
    kv.range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("a")).build());
    assertThat(maint.hash(HashRequest.getDefaultInstance()).getHash()).isEqualTo(h1);
    long rev = put("a", "2").getHeader().getRevision();
    var h2 = maint.hash(HashRequest.getDefaultInstance());
    assertThat(h2.getHash()).isNotEqualTo(h1);
    assertThat(h2.getHeader().getRevision()).isEqualTo(rev);
  }

  @Test
  void alarmListAndDisarmAnswerAsEtcdWithNoAlarm() {
    long rev = put("a", "1").getHeader().getRevision();
    AlarmResponse list = maint.alarm(AlarmRequest.getDefaultInstance());
    assertThat(list.getAlarmsList()).isEmpty();
    assertThat(list.getHeader().getRevision()).isEqualTo(rev);
    assertThat(list.getHeader().getMemberId()).isEqualTo(server.memberId());
    AlarmResponse disarm =
        maint.alarm(
            AlarmRequest.newBuilder()
                .setAction(AlarmRequest.AlarmAction.DEACTIVATE)
                .setMemberID(server.memberId())
                .setAlarm(AlarmType.NOSPACE)
                .build());
    assertThat(disarm.getAlarmsList()).isEmpty();
    AlarmRequest raise =
        AlarmRequest.newBuilder()
            .setAction(AlarmRequest.AlarmAction.ACTIVATE)
            .setMemberID(server.memberId())
            .setAlarm(AlarmType.NOSPACE)
            .build();
    assertThat(maint.alarm(raise).getAlarmsList()).hasSize(1);
    // raising it again changes nothing and answers with no alarm, as etcd
    assertThat(maint.alarm(raise).getAlarmsList()).isEmpty();
    assertThat(maint.alarm(AlarmRequest.getDefaultInstance()).getAlarmsList())
        .extracting(m -> m.getAlarm())
        .containsExactly(AlarmType.NOSPACE);
    assertThat(
            maint
                .alarm(raise.toBuilder().setAction(AlarmRequest.AlarmAction.DEACTIVATE).build())
                .getAlarmsList())
        .hasSize(1);
    assertThat(maint.alarm(AlarmRequest.getDefaultInstance()).getAlarmsList()).isEmpty();
  }

  @Test
  void defragmentAnswersWithAHeaderAndKeepsTheData() {
    long rev = put("a", "1").getHeader().getRevision();
    assertThat(maint.defragment(DefragmentRequest.getDefaultInstance()).getHeader().getRevision())
        .isEqualTo(rev);
    assertThat(
            kv.range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("a")).build())
                .getKvs(0)
                .getModRevision())
        .isEqualTo(rev);
  }
}
