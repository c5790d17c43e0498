package io.etch.api;

import static com.google.protobuf.Descriptors.FieldDescriptor.Type.BOOL;
import static com.google.protobuf.Descriptors.FieldDescriptor.Type.BYTES;
import static com.google.protobuf.Descriptors.FieldDescriptor.Type.ENUM;
import static com.google.protobuf.Descriptors.FieldDescriptor.Type.INT64;
import static com.google.protobuf.Descriptors.FieldDescriptor.Type.MESSAGE;
import static com.google.protobuf.Descriptors.FieldDescriptor.Type.STRING;
import static com.google.protobuf.Descriptors.FieldDescriptor.Type.UINT32;
import static com.google.protobuf.Descriptors.FieldDescriptor.Type.UINT64;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.etch.api.authpb.AuthProto;
import io.etch.api.etcdserverpb.AuthGrpc;
import io.etch.api.etcdserverpb.ClusterGrpc;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.LeaseGrpc;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RpcProto;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchGrpc;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.internal.InternalProto;
import io.etch.api.internal.RaftGrpc;
import io.etch.api.internal.RaftMessage;
import io.etch.api.mvccpb.KvProto;
import io.etch.api.v3electionpb.ElectionGrpc;
import io.etch.api.v3electionpb.ElectionProto;
import io.etch.api.v3lockpb.LockGrpc;
import io.etch.api.v3lockpb.LockProto;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.protobuf.ProtoMethodDescriptorSupplier;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The compiled descriptors against a hand-kept table of facts from the etcd v3 API reference (etcd
 * 3.5): field names, numbers and wire types, oneof membership, enum values, service and method
 * names. A wrong number here would make etcdctl, clientv3 or jetcd silently misread data.
 */
class EtcdDescriptorTest {

  private static final List<FileDescriptor> FILES =
      List.of(
          KvProto.getDescriptor(),
          AuthProto.getDescriptor(),
          RpcProto.getDescriptor(),
          LockProto.getDescriptor(),
          ElectionProto.getDescriptor(),
          InternalProto.getDescriptor());

  private static final Map<String, Descriptor> MESSAGES = new HashMap<>();
  private static final Map<String, EnumDescriptor> ENUMS = new HashMap<>();
  private static final Map<String, ServiceDescriptor> SERVICES = new HashMap<>();

  static {
    for (FileDescriptor f : FILES) {
      f.getMessageTypes().forEach(EtcdDescriptorTest::index);
      f.getEnumTypes().forEach(e -> ENUMS.put(e.getFullName(), e));
      f.getServices().forEach(s -> SERVICES.put(s.getFullName(), s));
    }
  }

  private static void index(Descriptor d) {
    MESSAGES.put(d.getFullName(), d);
    d.getNestedTypes().forEach(EtcdDescriptorTest::index);
    d.getEnumTypes().forEach(e -> ENUMS.put(e.getFullName(), e));
  }

  /** One row of the fact table: message, field name, number, wire type. */
  private record F(String message, String field, int number, FieldDescriptor.Type type) {}

  private static F f(String message, String field, int number, FieldDescriptor.Type type) {
    return new F(message, field, number, type);
  }

  private static final String RPC = "etcdserverpb.";

  private static final List<F> FIELDS =
      List.of(
          // mvccpb
          f("mvccpb.KeyValue", "key", 1, BYTES),
          f("mvccpb.KeyValue", "create_revision", 2, INT64),
          f("mvccpb.KeyValue", "mod_revision", 3, INT64),
          f("mvccpb.KeyValue", "version", 4, INT64),
          f("mvccpb.KeyValue", "value", 5, BYTES),
          f("mvccpb.KeyValue", "lease", 6, INT64),
          f("mvccpb.Event", "type", 1, ENUM),
          f("mvccpb.Event", "kv", 2, MESSAGE),
          f("mvccpb.Event", "prev_kv", 3, MESSAGE),
          // authpb
          f("authpb.UserAddOptions", "no_password", 1, BOOL),
          f("authpb.User", "name", 1, BYTES),
          f("authpb.User", "password", 2, BYTES),
          f("authpb.User", "roles", 3, STRING),
          f("authpb.User", "options", 4, MESSAGE),
          f("authpb.Permission", "permType", 1, ENUM),
          f("authpb.Permission", "key", 2, BYTES),
          f("authpb.Permission", "range_end", 3, BYTES),
          f("authpb.Role", "name", 1, BYTES),
          f("authpb.Role", "keyPermission", 2, MESSAGE),
          // header
          f(RPC + "ResponseHeader", "cluster_id", 1, UINT64),
          f(RPC + "ResponseHeader", "member_id", 2, UINT64),
          f(RPC + "ResponseHeader", "revision", 3, INT64),
          f(RPC + "ResponseHeader", "raft_term", 4, UINT64),
          // KV
          f(RPC + "RangeRequest", "key", 1, BYTES),
          f(RPC + "RangeRequest", "range_end", 2, BYTES),
          f(RPC + "RangeRequest", "limit", 3, INT64),
          f(RPC + "RangeRequest", "revision", 4, INT64),
          f(RPC + "RangeRequest", "sort_order", 5, ENUM),
          f(RPC + "RangeRequest", "sort_target", 6, ENUM),
          f(RPC + "RangeRequest", "serializable", 7, BOOL),
          f(RPC + "RangeRequest", "keys_only", 8, BOOL),
          f(RPC + "RangeRequest", "count_only", 9, BOOL),
          f(RPC + "RangeRequest", "min_mod_revision", 10, INT64),
          f(RPC + "RangeRequest", "max_mod_revision", 11, INT64),
          f(RPC + "RangeRequest", "min_create_revision", 12, INT64),
          f(RPC + "RangeRequest", "max_create_revision", 13, INT64),
          f(RPC + "RangeResponse", "header", 1, MESSAGE),
          f(RPC + "RangeResponse", "kvs", 2, MESSAGE),
          f(RPC + "RangeResponse", "more", 3, BOOL),
          f(RPC + "RangeResponse", "count", 4, INT64),
          f(RPC + "PutRequest", "key", 1, BYTES),
          f(RPC + "PutRequest", "value", 2, BYTES),
          f(RPC + "PutRequest", "lease", 3, INT64),
          f(RPC + "PutRequest", "prev_kv", 4, BOOL),
          f(RPC + "PutRequest", "ignore_value", 5, BOOL),
          f(RPC + "PutRequest", "ignore_lease", 6, BOOL),
          f(RPC + "PutResponse", "prev_kv", 2, MESSAGE),
          f(RPC + "DeleteRangeRequest", "prev_kv", 3, BOOL),
          f(RPC + "DeleteRangeResponse", "deleted", 2, INT64),
          f(RPC + "DeleteRangeResponse", "prev_kvs", 3, MESSAGE),
          f(RPC + "RequestOp", "request_range", 1, MESSAGE),
          f(RPC + "RequestOp", "request_put", 2, MESSAGE),
          f(RPC + "RequestOp", "request_delete_range", 3, MESSAGE),
          f(RPC + "RequestOp", "request_txn", 4, MESSAGE),
          f(RPC + "ResponseOp", "response_range", 1, MESSAGE),
          f(RPC + "ResponseOp", "response_put", 2, MESSAGE),
          f(RPC + "ResponseOp", "response_delete_range", 3, MESSAGE),
          f(RPC + "ResponseOp", "response_txn", 4, MESSAGE),
          f(RPC + "Compare", "result", 1, ENUM),
          f(RPC + "Compare", "target", 2, ENUM),
          f(RPC + "Compare", "key", 3, BYTES),
          f(RPC + "Compare", "version", 4, INT64),
          f(RPC + "Compare", "create_revision", 5, INT64),
          f(RPC + "Compare", "mod_revision", 6, INT64),
          f(RPC + "Compare", "value", 7, BYTES),
          f(RPC + "Compare", "lease", 8, INT64),
          f(RPC + "Compare", "range_end", 64, BYTES),
          f(RPC + "TxnRequest", "compare", 1, MESSAGE),
          f(RPC + "TxnRequest", "success", 2, MESSAGE),
          f(RPC + "TxnRequest", "failure", 3, MESSAGE),
          f(RPC + "TxnResponse", "succeeded", 2, BOOL),
          f(RPC + "TxnResponse", "responses", 3, MESSAGE),
          f(RPC + "CompactionRequest", "revision", 1, INT64),
          f(RPC + "CompactionRequest", "physical", 2, BOOL),
          // Watch
          f(RPC + "WatchRequest", "create_request", 1, MESSAGE),
          f(RPC + "WatchRequest", "cancel_request", 2, MESSAGE),
          f(RPC + "WatchRequest", "progress_request", 3, MESSAGE),
          f(RPC + "WatchCreateRequest", "key", 1, BYTES),
          f(RPC + "WatchCreateRequest", "range_end", 2, BYTES),
          f(RPC + "WatchCreateRequest", "start_revision", 3, INT64),
          f(RPC + "WatchCreateRequest", "progress_notify", 4, BOOL),
          f(RPC + "WatchCreateRequest", "filters", 5, ENUM),
          f(RPC + "WatchCreateRequest", "prev_kv", 6, BOOL),
          f(RPC + "WatchCreateRequest", "watch_id", 7, INT64),
          f(RPC + "WatchCreateRequest", "fragment", 8, BOOL),
          f(RPC + "WatchCancelRequest", "watch_id", 1, INT64),
          f(RPC + "WatchResponse", "header", 1, MESSAGE),
          f(RPC + "WatchResponse", "watch_id", 2, INT64),
          f(RPC + "WatchResponse", "created", 3, BOOL),
          f(RPC + "WatchResponse", "canceled", 4, BOOL),
          f(RPC + "WatchResponse", "compact_revision", 5, INT64),
          f(RPC + "WatchResponse", "cancel_reason", 6, STRING),
          f(RPC + "WatchResponse", "fragment", 7, BOOL),
          f(RPC + "WatchResponse", "events", 11, MESSAGE),
          // Lease
          f(RPC + "LeaseGrantRequest", "TTL", 1, INT64),
          f(RPC + "LeaseGrantRequest", "ID", 2, INT64),
          f(RPC + "LeaseGrantResponse", "ID", 2, INT64),
          f(RPC + "LeaseGrantResponse", "TTL", 3, INT64),
          f(RPC + "LeaseGrantResponse", "error", 4, STRING),
          f(RPC + "LeaseRevokeRequest", "ID", 1, INT64),
          f(RPC + "LeaseCheckpoint", "ID", 1, INT64),
          f(RPC + "LeaseCheckpoint", "remaining_TTL", 2, INT64),
          f(RPC + "LeaseCheckpointRequest", "checkpoints", 1, MESSAGE),
          f(RPC + "LeaseKeepAliveRequest", "ID", 1, INT64),
          f(RPC + "LeaseKeepAliveResponse", "ID", 2, INT64),
          f(RPC + "LeaseKeepAliveResponse", "TTL", 3, INT64),
          f(RPC + "LeaseTimeToLiveRequest", "ID", 1, INT64),
          f(RPC + "LeaseTimeToLiveRequest", "keys", 2, BOOL),
          f(RPC + "LeaseTimeToLiveResponse", "ID", 2, INT64),
          f(RPC + "LeaseTimeToLiveResponse", "TTL", 3, INT64),
          f(RPC + "LeaseTimeToLiveResponse", "grantedTTL", 4, INT64),
          f(RPC + "LeaseTimeToLiveResponse", "keys", 5, BYTES),
          f(RPC + "LeaseStatus", "ID", 1, INT64),
          f(RPC + "LeaseLeasesResponse", "leases", 2, MESSAGE),
          // Cluster
          f(RPC + "Member", "ID", 1, UINT64),
          f(RPC + "Member", "name", 2, STRING),
          f(RPC + "Member", "peerURLs", 3, STRING),
          f(RPC + "Member", "clientURLs", 4, STRING),
          f(RPC + "Member", "isLearner", 5, BOOL),
          f(RPC + "MemberAddRequest", "peerURLs", 1, STRING),
          f(RPC + "MemberAddRequest", "isLearner", 2, BOOL),
          f(RPC + "MemberAddResponse", "member", 2, MESSAGE),
          f(RPC + "MemberAddResponse", "members", 3, MESSAGE),
          f(RPC + "MemberRemoveRequest", "ID", 1, UINT64),
          f(RPC + "MemberUpdateRequest", "ID", 1, UINT64),
          f(RPC + "MemberUpdateRequest", "peerURLs", 2, STRING),
          f(RPC + "MemberListRequest", "linearizable", 1, BOOL),
          f(RPC + "MemberListResponse", "members", 2, MESSAGE),
          f(RPC + "MemberPromoteRequest", "ID", 1, UINT64),
          // Maintenance
          f(RPC + "AlarmRequest", "action", 1, ENUM),
          f(RPC + "AlarmRequest", "memberID", 2, UINT64),
          f(RPC + "AlarmRequest", "alarm", 3, ENUM),
          f(RPC + "AlarmMember", "memberID", 1, UINT64),
          f(RPC + "AlarmMember", "alarm", 2, ENUM),
          f(RPC + "AlarmResponse", "alarms", 2, MESSAGE),
          f(RPC + "StatusResponse", "version", 2, STRING),
          f(RPC + "StatusResponse", "dbSize", 3, INT64),
          f(RPC + "StatusResponse", "leader", 4, UINT64),
          f(RPC + "StatusResponse", "raftIndex", 5, UINT64),
          f(RPC + "StatusResponse", "raftTerm", 6, UINT64),
          f(RPC + "StatusResponse", "raftAppliedIndex", 7, UINT64),
          f(RPC + "StatusResponse", "errors", 8, STRING),
          f(RPC + "StatusResponse", "dbSizeInUse", 9, INT64),
          f(RPC + "StatusResponse", "isLearner", 10, BOOL),
          f(RPC + "HashResponse", "hash", 2, UINT32),
          f(RPC + "HashKVRequest", "revision", 1, INT64),
          f(RPC + "HashKVResponse", "hash", 2, UINT32),
          f(RPC + "HashKVResponse", "compact_revision", 3, INT64),
          f(RPC + "HashKVResponse", "hash_revision", 4, INT64),
          f(RPC + "SnapshotResponse", "header", 1, MESSAGE),
          f(RPC + "SnapshotResponse", "remaining_bytes", 2, UINT64),
          f(RPC + "SnapshotResponse", "blob", 3, BYTES),
          f(RPC + "MoveLeaderRequest", "targetID", 1, UINT64),
          f(RPC + "DowngradeRequest", "action", 1, ENUM),
          f(RPC + "DowngradeRequest", "version", 2, STRING),
          f(RPC + "DowngradeResponse", "version", 2, STRING),
          // Auth
          f(RPC + "AuthenticateRequest", "name", 1, STRING),
          f(RPC + "AuthenticateRequest", "password", 2, STRING),
          f(RPC + "AuthenticateResponse", "token", 2, STRING),
          f(RPC + "AuthStatusResponse", "enabled", 2, BOOL),
          f(RPC + "AuthStatusResponse", "authRevision", 3, UINT64),
          f(RPC + "AuthUserAddRequest", "name", 1, STRING),
          f(RPC + "AuthUserAddRequest", "password", 2, STRING),
          f(RPC + "AuthUserAddRequest", "options", 3, MESSAGE),
          f(RPC + "AuthUserAddRequest", "hashedPassword", 4, STRING),
          f(RPC + "AuthUserGetRequest", "name", 1, STRING),
          f(RPC + "AuthUserGetResponse", "roles", 2, STRING),
          f(RPC + "AuthUserDeleteRequest", "name", 1, STRING),
          f(RPC + "AuthUserChangePasswordRequest", "name", 1, STRING),
          f(RPC + "AuthUserChangePasswordRequest", "password", 2, STRING),
          f(RPC + "AuthUserChangePasswordRequest", "hashedPassword", 3, STRING),
          f(RPC + "AuthUserGrantRoleRequest", "user", 1, STRING),
          f(RPC + "AuthUserGrantRoleRequest", "role", 2, STRING),
          f(RPC + "AuthUserRevokeRoleRequest", "name", 1, STRING),
          f(RPC + "AuthUserRevokeRoleRequest", "role", 2, STRING),
          f(RPC + "AuthRoleAddRequest", "name", 1, STRING),
          f(RPC + "AuthRoleGetRequest", "role", 1, STRING),
          f(RPC + "AuthRoleGetResponse", "perm", 2, MESSAGE),
          f(RPC + "AuthRoleDeleteRequest", "role", 1, STRING),
          f(RPC + "AuthRoleGrantPermissionRequest", "name", 1, STRING),
          f(RPC + "AuthRoleGrantPermissionRequest", "perm", 2, MESSAGE),
          f(RPC + "AuthRoleRevokePermissionRequest", "role", 1, STRING),
          f(RPC + "AuthRoleRevokePermissionRequest", "key", 2, BYTES),
          f(RPC + "AuthRoleRevokePermissionRequest", "range_end", 3, BYTES),
          f(RPC + "AuthRoleListResponse", "roles", 2, STRING),
          f(RPC + "AuthUserListResponse", "users", 2, STRING),
          // v3lockpb / v3electionpb
          f("v3lockpb.LockRequest", "name", 1, BYTES),
          f("v3lockpb.LockRequest", "lease", 2, INT64),
          f("v3lockpb.LockResponse", "header", 1, MESSAGE),
          f("v3lockpb.LockResponse", "key", 2, BYTES),
          f("v3lockpb.UnlockRequest", "key", 1, BYTES),
          f("v3electionpb.CampaignRequest", "name", 1, BYTES),
          f("v3electionpb.CampaignRequest", "lease", 2, INT64),
          f("v3electionpb.CampaignRequest", "value", 3, BYTES),
          f("v3electionpb.CampaignResponse", "leader", 2, MESSAGE),
          f("v3electionpb.LeaderKey", "name", 1, BYTES),
          f("v3electionpb.LeaderKey", "key", 2, BYTES),
          f("v3electionpb.LeaderKey", "rev", 3, INT64),
          f("v3electionpb.LeaderKey", "lease", 4, INT64),
          f("v3electionpb.LeaderRequest", "name", 1, BYTES),
          f("v3electionpb.LeaderResponse", "kv", 2, MESSAGE),
          f("v3electionpb.ResignRequest", "leader", 1, MESSAGE),
          f("v3electionpb.ProclaimRequest", "leader", 1, MESSAGE),
          f("v3electionpb.ProclaimRequest", "value", 2, BYTES));

  @Test
  void everyFieldHasEtcdsNameNumberAndWireType() {
    for (F fact : FIELDS) {
      Descriptor message = MESSAGES.get(fact.message());
      assertThat(message).as("message %s", fact.message()).isNotNull();
      FieldDescriptor field = message.findFieldByName(fact.field());
      assertThat(field).as("%s.%s", fact.message(), fact.field()).isNotNull();
      assertThat(field.getNumber())
          .as("%s.%s number", fact.message(), fact.field())
          .isEqualTo(fact.number());
      assertThat(field.getType())
          .as("%s.%s type", fact.message(), fact.field())
          .isEqualTo(fact.type());
    }
  }

  @Test
  void everyResponseHeaderIsFieldOne() {
    for (Descriptor d : MESSAGES.values()) {
      FieldDescriptor header = d.findFieldByName("header");
      if (header != null) {
        assertThat(header.getNumber()).as(d.getFullName()).isEqualTo(1);
        assertThat(header.getMessageType().getFullName())
            .as(d.getFullName())
            .isEqualTo("etcdserverpb.ResponseHeader");
      }
    }
  }

  @Test
  void oneofsGroupTheFieldsEtcdGroups() {
    assertOneof(
        RPC + "RequestOp",
        "request",
        "request_range",
        "request_put",
        "request_delete_range",
        "request_txn");
    assertOneof(
        RPC + "ResponseOp",
        "response",
        "response_range",
        "response_put",
        "response_delete_range",
        "response_txn");
    assertOneof(
        RPC + "Compare",
        "target_union",
        "version",
        "create_revision",
        "mod_revision",
        "value",
        "lease");
    assertOneof(
        RPC + "WatchRequest",
        "request_union",
        "create_request",
        "cancel_request",
        "progress_request");
    assertThat(MESSAGES.get(RPC + "Compare").findFieldByName("range_end").getContainingOneof())
        .isNull();
  }

  private static void assertOneof(String message, String oneof, String... fields) {
    Descriptor d = MESSAGES.get(message);
    var o = d.getOneofs().stream().filter(x -> x.getName().equals(oneof)).findFirst();
    assertThat(o).as("%s oneof %s", message, oneof).isPresent();
    assertThat(o.get().getFields().stream().map(FieldDescriptor::getName)).containsExactly(fields);
  }

  @Test
  void enumsHaveEtcdsValues() {
    assertEnum("mvccpb.Event.EventType", "PUT", "DELETE");
    assertEnum("authpb.Permission.Type", "READ", "WRITE", "READWRITE");
    assertEnum(RPC + "RangeRequest.SortOrder", "NONE", "ASCEND", "DESCEND");
    assertEnum(RPC + "RangeRequest.SortTarget", "KEY", "VERSION", "CREATE", "MOD", "VALUE");
    assertEnum(RPC + "Compare.CompareResult", "EQUAL", "GREATER", "LESS", "NOT_EQUAL");
    assertEnum(RPC + "Compare.CompareTarget", "VERSION", "CREATE", "MOD", "VALUE", "LEASE");
    assertEnum(RPC + "WatchCreateRequest.FilterType", "NOPUT", "NODELETE");
    assertEnum(RPC + "AlarmType", "NONE", "NOSPACE", "CORRUPT");
    assertEnum(RPC + "AlarmRequest.AlarmAction", "GET", "ACTIVATE", "DEACTIVATE");
    assertEnum(RPC + "DowngradeRequest.DowngradeAction", "VALIDATE", "ENABLE", "CANCEL");
  }

  /** Values numbered 0, 1, 2, ... in the given order. */
  private static void assertEnum(String name, String... values) {
    EnumDescriptor e = ENUMS.get(name);
    assertThat(e).as(name).isNotNull();
    assertThat(e.getValues()).hasSize(values.length);
    for (int i = 0; i < values.length; i++) {
      assertThat(e.findValueByNumber(i).getName()).as("%s = %d", name, i).isEqualTo(values[i]);
    }
  }

  @Test
  void etcdserverpbHasEveryEtcdMessage() {
    Set<String> expected =
        new HashSet<>(
            Arrays.asList(
                "ResponseHeader",
                "RangeRequest",
                "RangeResponse",
                "PutRequest",
                "PutResponse",
                "DeleteRangeRequest",
                "DeleteRangeResponse",
                "RequestOp",
                "ResponseOp",
                "Compare",
                "TxnRequest",
                "TxnResponse",
                "CompactionRequest",
                "CompactionResponse",
                "HashRequest",
                "HashResponse",
                "HashKVRequest",
                "HashKVResponse",
                "SnapshotRequest",
                "SnapshotResponse",
                "WatchRequest",
                "WatchCreateRequest",
                "WatchCancelRequest",
                "WatchProgressRequest",
                "WatchResponse",
                "LeaseGrantRequest",
                "LeaseGrantResponse",
                "LeaseRevokeRequest",
                "LeaseRevokeResponse",
                "LeaseCheckpoint",
                "LeaseCheckpointRequest",
                "LeaseCheckpointResponse",
                "LeaseKeepAliveRequest",
                "LeaseKeepAliveResponse",
                "LeaseTimeToLiveRequest",
                "LeaseTimeToLiveResponse",
                "LeaseLeasesRequest",
                "LeaseStatus",
                "LeaseLeasesResponse",
                "Member",
                "MemberAddRequest",
                "MemberAddResponse",
                "MemberRemoveRequest",
                "MemberRemoveResponse",
                "MemberUpdateRequest",
                "MemberUpdateResponse",
                "MemberListRequest",
                "MemberListResponse",
                "MemberPromoteRequest",
                "MemberPromoteResponse",
                "DefragmentRequest",
                "DefragmentResponse",
                "MoveLeaderRequest",
                "MoveLeaderResponse",
                "AlarmRequest",
                "AlarmMember",
                "AlarmResponse",
                "DowngradeRequest",
                "DowngradeResponse",
                "DowngradeInfo",
                "StatusRequest",
                "StatusResponse"));
    for (String op :
        List.of(
            "AuthEnable",
            "AuthDisable",
            "AuthStatus",
            "Authenticate",
            "AuthUserAdd",
            "AuthUserGet",
            "AuthUserDelete",
            "AuthUserChangePassword",
            "AuthUserGrantRole",
            "AuthUserRevokeRole",
            "AuthRoleAdd",
            "AuthRoleGet",
            "AuthUserList",
            "AuthRoleList",
            "AuthRoleDelete",
            "AuthRoleGrantPermission",
            "AuthRoleRevokePermission")) {
      expected.add(op + "Request");
      expected.add(op + "Response");
    }
    Set<String> actual =
        RpcProto.getDescriptor().getMessageTypes().stream()
            .map(Descriptor::getName)
            .collect(Collectors.toSet());
    assertThat(actual).containsExactlyInAnyOrderElementsOf(expected);
  }

  /** Service, method, request type, response type, streaming. */
  private record M(String service, String method, String in, String out, MethodType type) {}

  private static M unary(String service, String method, String in, String out) {
    return new M(service, method, in, out, MethodType.UNARY);
  }

  private static final List<M> METHODS =
      List.of(
          unary("etcdserverpb.KV", "Range", "RangeRequest", "RangeResponse"),
          unary("etcdserverpb.KV", "Put", "PutRequest", "PutResponse"),
          unary("etcdserverpb.KV", "DeleteRange", "DeleteRangeRequest", "DeleteRangeResponse"),
          unary("etcdserverpb.KV", "Txn", "TxnRequest", "TxnResponse"),
          unary("etcdserverpb.KV", "Compact", "CompactionRequest", "CompactionResponse"),
          new M(
              "etcdserverpb.Watch",
              "Watch",
              "WatchRequest",
              "WatchResponse",
              MethodType.BIDI_STREAMING),
          unary("etcdserverpb.Lease", "LeaseGrant", "LeaseGrantRequest", "LeaseGrantResponse"),
          unary("etcdserverpb.Lease", "LeaseRevoke", "LeaseRevokeRequest", "LeaseRevokeResponse"),
          new M(
              "etcdserverpb.Lease",
              "LeaseKeepAlive",
              "LeaseKeepAliveRequest",
              "LeaseKeepAliveResponse",
              MethodType.BIDI_STREAMING),
          unary(
              "etcdserverpb.Lease",
              "LeaseTimeToLive",
              "LeaseTimeToLiveRequest",
              "LeaseTimeToLiveResponse"),
          unary("etcdserverpb.Lease", "LeaseLeases", "LeaseLeasesRequest", "LeaseLeasesResponse"),
          unary("etcdserverpb.Cluster", "MemberAdd", "MemberAddRequest", "MemberAddResponse"),
          unary(
              "etcdserverpb.Cluster",
              "MemberRemove",
              "MemberRemoveRequest",
              "MemberRemoveResponse"),
          unary(
              "etcdserverpb.Cluster",
              "MemberUpdate",
              "MemberUpdateRequest",
              "MemberUpdateResponse"),
          unary("etcdserverpb.Cluster", "MemberList", "MemberListRequest", "MemberListResponse"),
          unary(
              "etcdserverpb.Cluster",
              "MemberPromote",
              "MemberPromoteRequest",
              "MemberPromoteResponse"),
          unary("etcdserverpb.Maintenance", "Alarm", "AlarmRequest", "AlarmResponse"),
          unary("etcdserverpb.Maintenance", "Status", "StatusRequest", "StatusResponse"),
          unary(
              "etcdserverpb.Maintenance", "Defragment", "DefragmentRequest", "DefragmentResponse"),
          unary("etcdserverpb.Maintenance", "Hash", "HashRequest", "HashResponse"),
          unary("etcdserverpb.Maintenance", "HashKV", "HashKVRequest", "HashKVResponse"),
          new M(
              "etcdserverpb.Maintenance",
              "Snapshot",
              "SnapshotRequest",
              "SnapshotResponse",
              MethodType.SERVER_STREAMING),
          unary(
              "etcdserverpb.Maintenance", "MoveLeader", "MoveLeaderRequest", "MoveLeaderResponse"),
          unary("etcdserverpb.Maintenance", "Downgrade", "DowngradeRequest", "DowngradeResponse"),
          unary("etcdserverpb.Auth", "AuthEnable", "AuthEnableRequest", "AuthEnableResponse"),
          unary("etcdserverpb.Auth", "AuthDisable", "AuthDisableRequest", "AuthDisableResponse"),
          unary("etcdserverpb.Auth", "AuthStatus", "AuthStatusRequest", "AuthStatusResponse"),
          unary("etcdserverpb.Auth", "Authenticate", "AuthenticateRequest", "AuthenticateResponse"),
          unary("etcdserverpb.Auth", "UserAdd", "AuthUserAddRequest", "AuthUserAddResponse"),
          unary("etcdserverpb.Auth", "UserGet", "AuthUserGetRequest", "AuthUserGetResponse"),
          unary("etcdserverpb.Auth", "UserList", "AuthUserListRequest", "AuthUserListResponse"),
          unary(
              "etcdserverpb.Auth", "UserDelete", "AuthUserDeleteRequest", "AuthUserDeleteResponse"),
          unary(
              "etcdserverpb.Auth",
              "UserChangePassword",
              "AuthUserChangePasswordRequest",
              "AuthUserChangePasswordResponse"),
          unary(
              "etcdserverpb.Auth",
              "UserGrantRole",
              "AuthUserGrantRoleRequest",
              "AuthUserGrantRoleResponse"),
          unary(
              "etcdserverpb.Auth",
              "UserRevokeRole",
              "AuthUserRevokeRoleRequest",
              "AuthUserRevokeRoleResponse"),
          unary("etcdserverpb.Auth", "RoleAdd", "AuthRoleAddRequest", "AuthRoleAddResponse"),
          unary("etcdserverpb.Auth", "RoleGet", "AuthRoleGetRequest", "AuthRoleGetResponse"),
          unary("etcdserverpb.Auth", "RoleList", "AuthRoleListRequest", "AuthRoleListResponse"),
          unary(
              "etcdserverpb.Auth", "RoleDelete", "AuthRoleDeleteRequest", "AuthRoleDeleteResponse"),
          unary(
              "etcdserverpb.Auth",
              "RoleGrantPermission",
              "AuthRoleGrantPermissionRequest",
              "AuthRoleGrantPermissionResponse"),
          unary(
              "etcdserverpb.Auth",
              "RoleRevokePermission",
              "AuthRoleRevokePermissionRequest",
              "AuthRoleRevokePermissionResponse"),
          unary("v3lockpb.Lock", "Lock", "LockRequest", "LockResponse"),
          unary("v3lockpb.Lock", "Unlock", "UnlockRequest", "UnlockResponse"),
          unary("v3electionpb.Election", "Campaign", "CampaignRequest", "CampaignResponse"),
          unary("v3electionpb.Election", "Proclaim", "ProclaimRequest", "ProclaimResponse"),
          unary("v3electionpb.Election", "Leader", "LeaderRequest", "LeaderResponse"),
          new M(
              "v3electionpb.Election",
              "Observe",
              "LeaderRequest",
              "LeaderResponse",
              MethodType.SERVER_STREAMING),
          unary("v3electionpb.Election", "Resign", "ResignRequest", "ResignResponse"));

  @Test
  void servicesHaveEtcdsMethodsInOrderWithTheirTypes() {
    Map<String, List<String>> byService = new HashMap<>();
    for (M m : METHODS) {
      byService.computeIfAbsent(m.service(), k -> new java.util.ArrayList<>()).add(m.method());
      ServiceDescriptor s = SERVICES.get(m.service());
      assertThat(s).as(m.service()).isNotNull();
      MethodDescriptor md = s.findMethodByName(m.method());
      assertThat(md).as("%s/%s", m.service(), m.method()).isNotNull();
      String pkg = s.getFile().getPackage() + ".";
      assertThat(md.getInputType().getFullName()).endsWith("." + m.in());
      assertThat(md.getOutputType().getFullName()).endsWith("." + m.out());
      assertThat(md.getInputType().getFullName()).startsWith(pkg);
      assertThat(md.isClientStreaming())
          .as("%s client streaming", md.getFullName())
          .isEqualTo(m.type() == MethodType.BIDI_STREAMING);
      assertThat(md.isServerStreaming())
          .as("%s server streaming", md.getFullName())
          .isEqualTo(m.type() != MethodType.UNARY);
    }
    byService.forEach(
        (service, methods) ->
            assertThat(SERVICES.get(service).getMethods().stream().map(MethodDescriptor::getName))
                .as(service)
                .containsExactlyElementsOf(methods));
  }

  @Test
  void generatedStubsUseTheProtoServiceAndMethodNames() {
    List<io.grpc.ServiceDescriptor> grpc =
        List.of(
            KVGrpc.getServiceDescriptor(),
            WatchGrpc.getServiceDescriptor(),
            LeaseGrpc.getServiceDescriptor(),
            ClusterGrpc.getServiceDescriptor(),
            MaintenanceGrpc.getServiceDescriptor(),
            AuthGrpc.getServiceDescriptor(),
            LockGrpc.getServiceDescriptor(),
            ElectionGrpc.getServiceDescriptor(),
            RaftGrpc.getServiceDescriptor());
    assertThat(grpc.stream().map(io.grpc.ServiceDescriptor::getName))
        .containsExactly(
            "etcdserverpb.KV",
            "etcdserverpb.Watch",
            "etcdserverpb.Lease",
            "etcdserverpb.Cluster",
            "etcdserverpb.Maintenance",
            "etcdserverpb.Auth",
            "v3lockpb.Lock",
            "v3electionpb.Election",
            "etchpb.Raft");
    for (io.grpc.ServiceDescriptor sd : grpc) {
      ServiceDescriptor proto = SERVICES.get(sd.getName());
      assertThat(sd.getMethods()).hasSameSizeAs(proto.getMethods());
      for (io.grpc.MethodDescriptor<?, ?> gm : sd.getMethods()) {
        MethodDescriptor pm =
            ((ProtoMethodDescriptorSupplier) gm.getSchemaDescriptor()).getMethodDescriptor();
        assertThat(gm.getFullMethodName()).isEqualTo(sd.getName() + "/" + pm.getName());
        MethodType expected =
            pm.isClientStreaming()
                ? (pm.isServerStreaming() ? MethodType.BIDI_STREAMING : MethodType.CLIENT_STREAMING)
                : (pm.isServerStreaming() ? MethodType.SERVER_STREAMING : MethodType.UNARY);
        assertThat(gm.getType()).as(gm.getFullMethodName()).isEqualTo(expected);
      }
    }
    assertThat(KVGrpc.getRangeMethod().getFullMethodName()).isEqualTo("etcdserverpb.KV/Range");
    assertThat(LeaseGrpc.getLeaseKeepAliveMethod().getFullMethodName())
        .isEqualTo("etcdserverpb.Lease/LeaseKeepAlive");
  }

  @Test
  void encodedBytesAreEtcdsBytes() {
    // Hand-assembled from the field numbers: key=1 "foo", value=2 "bar", lease=3 (varint 7),
    // prev_kv=4 true.
    PutRequest put =
        PutRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8("foo"))
            .setValue(ByteString.copyFromUtf8("bar"))
            .setLease(7)
            .setPrevKv(true)
            .build();
    assertThat(HexFormat.of().formatHex(put.toByteArray()))
        .isEqualTo("0a03666f6f" + "1203626172" + "1807" + "2001");
    // WatchRequest.create_request (1) { key=1 "k", filters=5 packed [NODELETE], prev_kv=6 }.
    WatchRequest watch =
        WatchRequest.newBuilder()
            .setCreateRequest(
                WatchCreateRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8("k"))
                    .addFilters(WatchCreateRequest.FilterType.NODELETE)
                    .setPrevKv(true))
            .build();
    assertThat(HexFormat.of().formatHex(watch.toByteArray())).isEqualTo("0a080a016b2a01013001");
  }

  @Test
  void raftMessageTypesMirrorTheRaftLibraryOrder() {
    // io.etch.raft.MessageType in declaration order; proto value = ordinal + 1.
    List<String> raftOrder =
        List.of(
            "HUP",
            "BEAT",
            "PROP",
            "APP",
            "APP_RESP",
            "VOTE",
            "VOTE_RESP",
            "PRE_VOTE",
            "PRE_VOTE_RESP",
            "SNAP",
            "HEARTBEAT",
            "HEARTBEAT_RESP",
            "UNREACHABLE",
            "SNAP_STATUS",
            "CHECK_QUORUM",
            "TRANSFER_LEADER",
            "TIMEOUT_NOW",
            "READ_INDEX",
            "READ_INDEX_RESP");
    for (int i = 0; i < raftOrder.size(); i++) {
      assertThat(RaftMessage.MessageType.forNumber(i + 1).name()).isEqualTo(raftOrder.get(i));
    }
    assertThat(RaftMessage.MessageType.forNumber(0)).isEqualTo(RaftMessage.MessageType.UNSPECIFIED);
    assertThat(RaftMessage.MessageType.forNumber(raftOrder.size() + 1)).isNull();
  }
}
