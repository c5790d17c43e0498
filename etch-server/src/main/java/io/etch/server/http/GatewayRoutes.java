package io.etch.server.http;

import java.util.List;
import java.util.Map;

/**
 * etcd's gateway paths, keyed by gRPC full method name: the {@code google.api.http} POST
 * annotations of etcd's rpc.proto, v3lock.proto and v3election.proto (3.5). A path is served only
 * when its service is registered with the gateway, so a service added later (lock, election) needs
 * only registering; an unregistered one answers 404 as etcd does for an unknown path.
 */
final class GatewayRoutes {
  private GatewayRoutes() {}

  static final Map<String, List<String>> PATHS =
      Map.ofEntries(
          route("etcdserverpb.KV/Range", "/v3/kv/range"),
          route("etcdserverpb.KV/Put", "/v3/kv/put"),
          route("etcdserverpb.KV/DeleteRange", "/v3/kv/deleterange"),
          route("etcdserverpb.KV/Txn", "/v3/kv/txn"),
          route("etcdserverpb.KV/Compact", "/v3/kv/compaction"),
          route("etcdserverpb.Watch/Watch", "/v3/watch"),
          route("etcdserverpb.Lease/LeaseGrant", "/v3/lease/grant"),
          // etcd keeps the 3.3 paths under /v3/kv/lease as additional bindings
          route("etcdserverpb.Lease/LeaseRevoke", "/v3/lease/revoke", "/v3/kv/lease/revoke"),
          route("etcdserverpb.Lease/LeaseKeepAlive", "/v3/lease/keepalive"),
          route(
              "etcdserverpb.Lease/LeaseTimeToLive",
              "/v3/lease/timetolive",
              "/v3/kv/lease/timetolive"),
          route("etcdserverpb.Lease/LeaseLeases", "/v3/lease/leases", "/v3/kv/lease/leases"),
          route("etcdserverpb.Cluster/MemberAdd", "/v3/cluster/member/add"),
          route("etcdserverpb.Cluster/MemberRemove", "/v3/cluster/member/remove"),
          route("etcdserverpb.Cluster/MemberUpdate", "/v3/cluster/member/update"),
          route("etcdserverpb.Cluster/MemberList", "/v3/cluster/member/list"),
          route("etcdserverpb.Cluster/MemberPromote", "/v3/cluster/member/promote"),
          route("etcdserverpb.Maintenance/Alarm", "/v3/maintenance/alarm"),
          route("etcdserverpb.Maintenance/Status", "/v3/maintenance/status"),
          route("etcdserverpb.Maintenance/Defragment", "/v3/maintenance/defragment"),
          // Hash and HashKV share /v3/maintenance/hash in etcd's proto; grpc-gateway serves the one
          // registered last, HashKV (etcd 3.4 answers {"revision":..} there with a HashKV hash).
          route("etcdserverpb.Maintenance/HashKV", "/v3/maintenance/hash"),
          route("etcdserverpb.Maintenance/Snapshot", "/v3/maintenance/snapshot"),
          route("etcdserverpb.Maintenance/MoveLeader", "/v3/maintenance/transfer-leadership"),
          route("etcdserverpb.Maintenance/Downgrade", "/v3/maintenance/downgrade"),
          route("etcdserverpb.Auth/AuthEnable", "/v3/auth/enable"),
          route("etcdserverpb.Auth/AuthDisable", "/v3/auth/disable"),
          route("etcdserverpb.Auth/AuthStatus", "/v3/auth/status"),
          route("etcdserverpb.Auth/Authenticate", "/v3/auth/authenticate"),
          route("etcdserverpb.Auth/UserAdd", "/v3/auth/user/add"),
          route("etcdserverpb.Auth/UserGet", "/v3/auth/user/get"),
          route("etcdserverpb.Auth/UserList", "/v3/auth/user/list"),
          route("etcdserverpb.Auth/UserDelete", "/v3/auth/user/delete"),
          route("etcdserverpb.Auth/UserChangePassword", "/v3/auth/user/changepw"),
          route("etcdserverpb.Auth/UserGrantRole", "/v3/auth/user/grant"),
          route("etcdserverpb.Auth/UserRevokeRole", "/v3/auth/user/revoke"),
          route("etcdserverpb.Auth/RoleAdd", "/v3/auth/role/add"),
          route("etcdserverpb.Auth/RoleGet", "/v3/auth/role/get"),
          route("etcdserverpb.Auth/RoleList", "/v3/auth/role/list"),
          route("etcdserverpb.Auth/RoleDelete", "/v3/auth/role/delete"),
          route("etcdserverpb.Auth/RoleGrantPermission", "/v3/auth/role/grant"),
          route("etcdserverpb.Auth/RoleRevokePermission", "/v3/auth/role/revoke"),
          route("v3lockpb.Lock/Lock", "/v3/lock/lock"),
          route("v3lockpb.Lock/Unlock", "/v3/lock/unlock"),
          route("v3electionpb.Election/Campaign", "/v3/election/campaign"),
          route("v3electionpb.Election/Proclaim", "/v3/election/proclaim"),
          route("v3electionpb.Election/Leader", "/v3/election/leader"),
          route("v3electionpb.Election/Observe", "/v3/election/observe"),
          route("v3electionpb.Election/Resign", "/v3/election/resign"));

  private static Map.Entry<String, List<String>> route(String method, String... paths) {
    return Map.entry(method, List.of(paths));
  }
}
