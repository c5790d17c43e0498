package io.etch.cli.ctl;

import io.etch.api.etcdserverpb.AlarmMember;
import io.etch.api.etcdserverpb.AlarmRequest;
import io.etch.api.etcdserverpb.AlarmResponse;
import io.etch.api.etcdserverpb.DefragmentRequest;
import io.etch.api.etcdserverpb.HashKVRequest;
import io.etch.api.etcdserverpb.HashKVResponse;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseGrantResponse;
import io.etch.api.etcdserverpb.LeaseKeepAliveRequest;
import io.etch.api.etcdserverpb.LeaseKeepAliveResponse;
import io.etch.api.etcdserverpb.LeaseLeasesRequest;
import io.etch.api.etcdserverpb.LeaseLeasesResponse;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.LeaseStatus;
import io.etch.api.etcdserverpb.LeaseTimeToLiveRequest;
import io.etch.api.etcdserverpb.LeaseTimeToLiveResponse;
import io.etch.api.etcdserverpb.Member;
import io.etch.api.etcdserverpb.MemberAddRequest;
import io.etch.api.etcdserverpb.MemberAddResponse;
import io.etch.api.etcdserverpb.MemberListRequest;
import io.etch.api.etcdserverpb.MemberListResponse;
import io.etch.api.etcdserverpb.MemberPromoteRequest;
import io.etch.api.etcdserverpb.MemberRemoveRequest;
import io.etch.api.etcdserverpb.MemberUpdateRequest;
import io.etch.api.etcdserverpb.MoveLeaderRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.etcdserverpb.StatusRequest;
import io.etch.api.etcdserverpb.StatusResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** lease, member, endpoint, alarm, defrag, move-leader and version. */
final class ClusterCommands {
  private ClusterCommands() {}

  static Go.Json header(Go.Json j, ResponseHeader h) {
    return j.field("cluster_id", new Go.RawJson(Go.u(h.getClusterId())))
        .field("member_id", new Go.RawJson(Go.u(h.getMemberId())))
        .field("revision", h.getRevision())
        .field("raft_term", new Go.RawJson(Go.u(h.getRaftTerm())));
  }

  static long leaseId(List<String> args, String usage) {
    if (args.size() != 1) {
      throw CtlCommand.badArgs(usage);
    }
    try {
      return Long.parseLong(args.get(0), 16);
    } catch (NumberFormatException e) {
      throw CtlCommand.badArgs(
          "bad lease ID arg (strconv.ParseInt: parsing "
              + Go.quote(args.get(0))
              + ": invalid syntax), expecting ID in Hex");
    }
  }

  @Command(
      name = "lease",
      description = "Lease related commands",
      subcommands = {
        LeaseGrant.class,
        LeaseRevoke.class,
        LeaseTimeToLive.class,
        LeaseList.class,
        LeaseKeepAlive.class
      })
  static final class Lease {}

  @Command(name = "grant", description = "Creates leases")
  static final class LeaseGrant extends CtlCommand {
    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      if (args.size() != 1) {
        throw badArgs("lease grant command needs TTL argument");
      }
      long ttl;
      try {
        ttl = Long.parseLong(args.get(0));
      } catch (NumberFormatException e) {
        throw badArgs(
            "bad TTL (strconv.ParseInt: parsing " + Go.quote(args.get(0)) + ": invalid syntax)");
      }
      LeaseGrantResponse r;
      try {
        r = client().lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttl).build());
      } catch (StatusRuntimeException e) {
        throw new CtlException(1, "failed to grant lease (" + Client.message(e) + ")");
      }
      switch (format()) {
        case "json" ->
            json(
                header(Go.Json.object(), r.getHeader())
                    .field("ID", r.getID())
                    .field("TTL", r.getTTL())
                    .field("Error", r.getError()));
        case "protobuf" -> protobuf(r);
        case "fields" -> {
          fieldsHeader(r.getHeader());
          out.println("\"ID\" : " + r.getID());
          out.println("\"TTL\" : " + r.getTTL());
        }
        case "table" -> throw unsupported("table not supported as output format");
        default -> out.printf("lease %016x granted with TTL(%ds)%n", r.getID(), r.getTTL());
      }
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revokes leases")
  static final class LeaseRevoke extends CtlCommand {
    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      long id = leaseId(args, "lease revoke command needs 1 argument");
      io.etch.api.etcdserverpb.LeaseRevokeResponse r;
      try {
        r = client().lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build());
      } catch (StatusRuntimeException e) {
        throw new CtlException(1, "failed to revoke lease (" + Client.message(e) + ")");
      }
      switch (format()) {
        case "json" -> json(r);
        case "protobuf" -> protobuf(r);
        case "fields" -> fieldsHeader(r.getHeader());
        case "table" -> throw unsupported("table not supported as output format");
        default -> out.printf("lease %016x revoked%n", id);
      }
      return 0;
    }
  }

  @Command(name = "timetolive", description = "Get lease information")
  static final class LeaseTimeToLive extends CtlCommand {
    @Option(names = "--keys", arity = "0..1", fallbackValue = "true")
    boolean keys;

    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      long id = leaseId(args, "lease timetolive command needs lease ID as argument");
      LeaseTimeToLiveResponse r;
      try {
        r =
            client()
                .lease()
                .leaseTimeToLive(
                    LeaseTimeToLiveRequest.newBuilder().setID(id).setKeys(keys).build());
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      switch (format()) {
        case "json" -> {
          List<Object> ks = new ArrayList<>();
          for (var k : r.getKeysList()) {
            ks.add(java.util.Base64.getEncoder().encodeToString(k.toByteArray()));
          }
          json(
              header(Go.Json.object(), r.getHeader())
                  .field("id", r.getID())
                  .field("ttl", r.getTTL())
                  .field("granted-ttl", r.getGrantedTTL())
                  .field("keys", ks.isEmpty() ? null : ks));
        }
        case "protobuf" -> protobuf(r);
        case "fields" -> {
          fieldsHeader(r.getHeader());
          out.println("\"ID\" : " + r.getID());
          out.println("\"TTL\" : " + r.getTTL());
          out.println("\"GrantedTTL\" : " + r.getGrantedTTL());
          for (var k : r.getKeysList()) {
            out.println("\"Key\" : " + Go.quote(k));
          }
        }
        case "table" -> throw unsupported("table not supported as output format");
        default -> {
          if (r.getGrantedTTL() == 0 && r.getTTL() == -1) {
            out.printf("lease %016x already expired%n", r.getID());
            break;
          }
          StringBuilder t =
              new StringBuilder(
                  String.format(
                      "lease %016x granted with TTL(%ds), remaining(%ds)",
                      r.getID(), r.getGrantedTTL(), r.getTTL()));
          if (keys) {
            List<String> ks = new ArrayList<>();
            for (var k : r.getKeysList()) {
              ks.add(k.toStringUtf8());
            }
            t.append(", attached keys([").append(String.join(" ", ks)).append("])");
          }
          out.println(t);
        }
      }
      return 0;
    }
  }

  @Command(name = "list", description = "List all active leases")
  static final class LeaseList extends CtlCommand {
    @Override
    int run() {
      LeaseLeasesResponse r;
      try {
        r = client().lease().leaseLeases(LeaseLeasesRequest.getDefaultInstance());
      } catch (StatusRuntimeException e) {
        throw new CtlException(1, "failed to list leases (" + Client.message(e) + ")");
      }
      switch (format()) {
        case "json" -> {
          List<Object> ls = new ArrayList<>();
          for (LeaseStatus l : r.getLeasesList()) {
            ls.add(Go.Json.object().field("id", l.getID()));
          }
          json(header(Go.Json.object(), r.getHeader()).field("leases", ls));
        }
        case "protobuf" -> protobuf(r);
        case "fields" -> {
          fieldsHeader(r.getHeader());
          for (LeaseStatus l : r.getLeasesList()) {
            out.println("\"ID\" : " + l.getID());
          }
        }
        case "table" -> throw unsupported("table not supported as output format");
        default -> {
          out.printf("found %d leases%n", r.getLeasesCount());
          for (LeaseStatus l : r.getLeasesList()) {
            out.printf("%016x%n", l.getID());
          }
        }
      }
      return 0;
    }
  }

  @Command(name = "keep-alive", description = "Keeps leases alive (renew)")
  static final class LeaseKeepAlive extends CtlCommand {
    @Option(names = "--once", arity = "0..1", fallbackValue = "true")
    boolean once;

    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() throws Exception {
      long id = leaseId(args, "lease keep-alive command needs lease ID as argument");
      LinkedBlockingQueue<Object> q = new LinkedBlockingQueue<>();
      StreamObserver<LeaseKeepAliveRequest> send =
          client()
              .leaseAsync()
              .leaseKeepAlive(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(LeaseKeepAliveResponse v) {
                      q.add(v);
                    }

                    @Override
                    public void onError(Throwable t) {
                      q.add(t);
                    }

                    @Override
                    public void onCompleted() {
                      q.add(Status.CANCELLED.asRuntimeException());
                    }
                  });
      LeaseKeepAliveRequest req = LeaseKeepAliveRequest.newBuilder().setID(id).build();
      try {
        while (true) {
          send.onNext(req);
          Object o =
              q.poll(
                  s.commandTimeout().toMillis() + s.dialTimeout().toMillis(),
                  TimeUnit.MILLISECONDS);
          if (o == null) {
            throw new CtlException(1, "context deadline exceeded");
          }
          if (o instanceof Throwable t) {
            throw Client.error(t);
          }
          LeaseKeepAliveResponse r = (LeaseKeepAliveResponse) o;
          if (r.getTTL() <= 0) {
            if (once) {
              // clientv3's KeepAliveOnce turns a zero TTL into ErrLeaseNotFound.
              throw new CtlException(
                  CtlException.EXIT_BAD_CONNECTION, "etcdserver: requested lease not found");
            }
            out.printf("lease %016x expired or revoked.%n", id);
            return 0;
          }
          switch (format()) {
            case "json" ->
                json(
                    header(Go.Json.object(), r.getHeader())
                        .field("ID", r.getID())
                        .field("TTL", r.getTTL()));
            case "protobuf" -> protobuf(r);
            case "fields" -> {
              fieldsHeader(r.getHeader());
              out.println("\"ID\" : " + r.getID());
              out.println("\"TTL\" : " + r.getTTL());
            }
            default -> out.printf("lease %016x keepalived with TTL(%d)%n", r.getID(), r.getTTL());
          }
          out.flush();
          if (once) {
            return 0;
          }
          Thread.sleep(Math.max(500, r.getTTL() * 1000 / 3));
        }
      } finally {
        send.onCompleted();
      }
    }
  }

  // ---- member ----

  @Command(
      name = "member",
      description = "Membership related commands",
      subcommands = {
        MemberAdd.class,
        MemberRemove.class,
        MemberUpdate.class,
        MemberList.class,
        MemberPromote.class
      })
  static final class MemberCmd {}

  static List<String[]> memberRows(List<Member> ms) {
    List<String[]> rows = new ArrayList<>();
    for (Member m : ms) {
      rows.add(
          new String[] {
            Long.toHexString(m.getID()),
            m.getName().isEmpty() ? "unstarted" : "started",
            m.getName(),
            String.join(",", m.getPeerURLsList()),
            String.join(",", m.getClientURLsList()),
            String.valueOf(m.getIsLearner())
          });
    }
    return rows;
  }

  static void printMembers(CtlCommand c, MemberListResponse r) {
    switch (c.format()) {
      case "json" -> c.json(r);
      case "protobuf" -> c.protobuf(r);
      case "fields" -> {
        c.fieldsHeader(r.getHeader());
        for (Member m : r.getMembersList()) {
          c.out.println("\"ID\" : " + Go.u(m.getID()));
          c.out.println("\"Name\" : " + Go.quote(m.getName()));
          for (String u : m.getPeerURLsList()) {
            c.out.println("\"PeerURL\" : " + Go.quote(u));
          }
          for (String u : m.getClientURLsList()) {
            c.out.println("\"ClientURL\" : " + Go.quote(u));
          }
          c.out.println("\"IsLearner\" : " + m.getIsLearner());
          c.out.println();
        }
      }
      case "table" -> {
        Table t = new Table("ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER");
        for (String[] row : memberRows(r.getMembersList())) {
          t.add(row);
        }
        t.render(c.out);
      }
      default -> {
        for (String[] row : memberRows(r.getMembersList())) {
          c.out.println(String.join(", ", row));
        }
      }
    }
  }

  @Command(name = "list", description = "Lists all members in the cluster")
  static final class MemberList extends CtlCommand {
    @Override
    int run() {
      try {
        printMembers(this, client().cluster().memberList(MemberListRequest.getDefaultInstance()));
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      return 0;
    }
  }

  @Command(name = "add", description = "Adds a member into the cluster")
  static final class MemberAdd extends CtlCommand {
    @Option(names = "--peer-urls", description = "comma separated peer URLs for the new member.")
    String peerUrls = "";

    @Option(names = "--learner", arity = "0..1", fallbackValue = "true")
    boolean learner;

    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      if (args.size() != 1) {
        throw badArgs("member name not provided");
      }
      if (peerUrls.isEmpty()) {
        throw badArgs("member peer urls not provided");
      }
      List<String> urls = List.of(peerUrls.split(","));
      MemberAddResponse r;
      try {
        r =
            client()
                .cluster()
                .memberAdd(
                    MemberAddRequest.newBuilder()
                        .addAllPeerURLs(urls)
                        .setIsLearner(learner)
                        .build());
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      switch (format()) {
        case "json" -> json(r);
        case "protobuf" -> protobuf(r);
        case "fields" -> {
          fieldsHeader(r.getHeader());
          out.println("\"MemberID\" : " + Go.u(r.getMember().getID()));
        }
        case "table" -> throw unsupported("table not supported as output format");
        default -> {
          out.printf(
              "Member %16x added%sto cluster %16x%n",
              r.getMember().getID(),
              r.getMember().getIsLearner() ? " as learner " : " ",
              r.getHeader().getClusterId());
          List<String> conf = new ArrayList<>();
          for (Member m : r.getMembersList()) {
            for (String u : m.getPeerURLsList()) {
              String n = m.getID() == r.getMember().getID() ? args.get(0) : m.getName();
              conf.add(n + "=" + u);
            }
          }
          out.println();
          out.println("ETCD_NAME=" + Go.quote(args.get(0)));
          out.println("ETCD_INITIAL_CLUSTER=" + Go.quote(String.join(",", conf)));
          out.println("ETCD_INITIAL_ADVERTISE_PEER_URLS=" + Go.quote(String.join(",", urls)));
          out.println("ETCD_INITIAL_CLUSTER_STATE=\"existing\"");
        }
      }
      return 0;
    }
  }

  static long memberId(List<String> args, String missing) {
    if (args.size() != 1) {
      throw CtlCommand.badArgs(missing);
    }
    try {
      return Long.parseUnsignedLong(args.get(0), 16);
    } catch (NumberFormatException e) {
      throw CtlCommand.badArgs(
          "bad member ID arg (strconv.ParseUint: parsing "
              + Go.quote(args.get(0))
              + ": invalid syntax), expecting ID in Hex");
    }
  }

  @Command(name = "remove", description = "Removes a member from the cluster")
  static final class MemberRemove extends CtlCommand {
    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      long id = memberId(args, "member ID is not provided");
      try {
        var r = client().cluster().memberRemove(MemberRemoveRequest.newBuilder().setID(id).build());
        switch (format()) {
          case "json" -> json(r);
          case "protobuf" -> protobuf(r);
          case "fields" -> fieldsHeader(r.getHeader());
          default ->
              out.printf(
                  "Member %16x removed from cluster %16x%n", id, r.getHeader().getClusterId());
        }
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      return 0;
    }
  }

  @Command(name = "update", description = "Updates a member in the cluster")
  static final class MemberUpdate extends CtlCommand {
    @Option(
        names = "--peer-urls",
        description = "comma separated peer URLs for the updated member.")
    String peerUrls = "";

    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      long id = memberId(args, "member ID is not provided");
      if (peerUrls.isEmpty()) {
        throw badArgs("member peer urls not provided");
      }
      try {
        var r =
            client()
                .cluster()
                .memberUpdate(
                    MemberUpdateRequest.newBuilder()
                        .setID(id)
                        .addAllPeerURLs(List.of(peerUrls.split(",")))
                        .build());
        switch (format()) {
          case "json" -> json(r);
          case "protobuf" -> protobuf(r);
          case "fields" -> fieldsHeader(r.getHeader());
          default ->
              out.printf("Member %16x updated in cluster %16x%n", id, r.getHeader().getClusterId());
        }
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      return 0;
    }
  }

  @Command(name = "promote", description = "Promotes a non-voting member in the cluster")
  static final class MemberPromote extends CtlCommand {
    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      long id = memberId(args, "member ID is not provided");
      try {
        var r =
            client().cluster().memberPromote(MemberPromoteRequest.newBuilder().setID(id).build());
        switch (format()) {
          case "json" -> json(r);
          case "protobuf" -> protobuf(r);
          case "fields" -> fieldsHeader(r.getHeader());
          default ->
              out.printf(
                  "Member %16x promoted in cluster %16x%n", id, r.getHeader().getClusterId());
        }
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      return 0;
    }
  }

  // ---- endpoint ----

  @Command(
      name = "endpoint",
      description = "Endpoint related commands",
      subcommands = {EndpointHealth.class, EndpointStatus.class, EndpointHashKv.class})
  static final class Endpoint {}

  abstract static class EndpointCommand extends CtlCommand {
    @Option(names = "--cluster", arity = "0..1", fallbackValue = "true")
    boolean cluster;

    List<String> endpoints() {
      if (!cluster) {
        return s.endpoints();
      }
      MemberListResponse r;
      try {
        r = client().cluster().memberList(MemberListRequest.getDefaultInstance());
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      List<String> eps = new ArrayList<>();
      for (Member m : r.getMembersList()) {
        eps.addAll(m.getClientURLsList());
      }
      return eps;
    }
  }

  @Command(name = "health", description = "Checks the healthiness of endpoints")
  static final class EndpointHealth extends EndpointCommand {
    @Override
    int run() {
      record Health(String ep, boolean health, String took, String error) {}
      List<Health> hs = new ArrayList<>();
      for (String ep : endpoints()) {
        long t0 = System.nanoTime();
        String err = "";
        try {
          Client c = connect(ep);
          c.kv().range(RangeRequest.newBuilder().setKey(KvCommands.bytes("health")).build());
        } catch (StatusRuntimeException e) {
          String m = Client.message(e);
          if (!m.equals("etcdserver: permission denied")) {
            err = m;
          }
        } catch (CtlException e) {
          err = e.getMessage();
        }
        hs.add(new Health(ep, err.isEmpty(), Go.duration(System.nanoTime() - t0), err));
      }
      java.io.PrintWriter errOut = spec.commandLine().getErr();
      switch (format()) {
        case "json" -> {
          List<Object> l = new ArrayList<>();
          for (Health h : hs) {
            Go.Json j =
                Go.Json.object()
                    .field("endpoint", h.ep())
                    .field("health", h.health())
                    .field("took", h.took());
            if (!h.error().isEmpty()) {
              j.field("error", h.error());
            }
            l.add(j);
          }
          json(l);
        }
        case "fields" -> {
          for (Health h : hs) {
            out.println("\"Endpoint\" : " + Go.quote(h.ep()));
            out.println("\"Health\" : " + h.health());
            out.println("\"Took\" : " + h.took());
            out.println("\"Error\" : " + h.error());
            out.println();
          }
        }
        case "table" -> {
          Table t = new Table("ENDPOINT", "HEALTH", "TOOK", "ERROR");
          for (Health h : hs) {
            t.add(h.ep(), String.valueOf(h.health()), h.took(), h.error());
          }
          t.render(out);
        }
        default -> {
          for (Health h : hs) {
            if (h.health()) {
              // etcdctl 3.4 prints health lines on stderr.
              errOut.printf(
                  "%s is healthy: successfully committed proposal: took = %s%n", h.ep(), h.took());
            } else {
              errOut.printf("%s is unhealthy: failed to commit proposal: %s%n", h.ep(), h.error());
            }
          }
        }
      }
      for (Health h : hs) {
        if (!h.health()) {
          throw new CtlException(1, "unhealthy cluster");
        }
      }
      return 0;
    }
  }

  @Command(name = "status", description = "Prints out the status of endpoints")
  static final class EndpointStatus extends EndpointCommand {
    @Override
    int run() {
      List<String> eps = endpoints();
      List<StatusResponse> rs = new ArrayList<>();
      for (String ep : eps) {
        try {
          rs.add(connect(ep).maintenance().status(StatusRequest.getDefaultInstance()));
        } catch (StatusRuntimeException e) {
          spec.commandLine()
              .getErr()
              .printf("Failed to get the status of endpoint %s (%s)%n", ep, Client.message(e));
          rs.add(null);
        }
      }
      List<String[]> rows = new ArrayList<>();
      for (int i = 0; i < eps.size(); i++) {
        StatusResponse r = rs.get(i);
        if (r == null) {
          continue;
        }
        rows.add(
            new String[] {
              eps.get(i),
              Long.toHexString(r.getHeader().getMemberId()),
              r.getVersion(),
              Go.bytes(r.getDbSize()),
              String.valueOf(r.getLeader() == r.getHeader().getMemberId()),
              String.valueOf(r.getIsLearner()),
              Go.u(r.getRaftTerm()),
              Go.u(r.getRaftIndex()),
              Go.u(r.getRaftAppliedIndex()),
              String.join(", ", r.getErrorsList())
            });
      }
      switch (format()) {
        case "json" -> {
          List<Object> l = new ArrayList<>();
          for (int i = 0; i < eps.size(); i++) {
            if (rs.get(i) != null) {
              l.add(Go.Json.object().field("Endpoint", eps.get(i)).field("Status", rs.get(i)));
            }
          }
          json(l);
        }
        case "fields" -> {
          for (int i = 0; i < eps.size(); i++) {
            StatusResponse r = rs.get(i);
            if (r == null) {
              continue;
            }
            fieldsHeader(r.getHeader());
            out.println("\"Version\" : " + Go.quote(r.getVersion()));
            out.println("\"DBSize\" : " + r.getDbSize());
            out.println("\"Leader\" : " + Go.u(r.getLeader()));
            out.println("\"IsLearner\" : " + r.getIsLearner());
            out.println("\"RaftIndex\" : " + Go.u(r.getRaftIndex()));
            out.println("\"RaftTerm\" : " + Go.u(r.getRaftTerm()));
            out.println("\"RaftAppliedIndex\" : " + Go.u(r.getRaftAppliedIndex()));
            out.println("\"Errors\" : [" + String.join(" ", r.getErrorsList()) + "]");
            out.println("\"Endpoint\" : " + Go.quote(eps.get(i)));
            out.println();
          }
        }
        case "table" -> {
          Table t =
              new Table(
                  "ENDPOINT",
                  "ID",
                  "VERSION",
                  "DB SIZE",
                  "IS LEADER",
                  "IS LEARNER",
                  "RAFT TERM",
                  "RAFT INDEX",
                  "RAFT APPLIED INDEX",
                  "ERRORS");
          rows.forEach(t::add);
          t.render(out);
        }
        default -> rows.forEach(r -> out.println(String.join(", ", r)));
      }
      if (rs.contains(null)) {
        throw new CtlException(1, "context deadline exceeded");
      }
      return 0;
    }
  }

  @Command(name = "hashkv", description = "Prints the KV history hash for each endpoint")
  static final class EndpointHashKv extends EndpointCommand {
    @Option(names = "--rev", description = "maximum revision to hash (default: all revisions)")
    long rev;

    @Override
    int run() {
      List<String> eps = endpoints();
      List<HashKVResponse> rs = new ArrayList<>();
      for (String ep : eps) {
        try {
          rs.add(
              connect(ep)
                  .maintenance()
                  .hashKV(HashKVRequest.newBuilder().setRevision(rev).build()));
        } catch (StatusRuntimeException e) {
          throw Client.error(e);
        }
      }
      switch (format()) {
        case "json" -> {
          List<Object> l = new ArrayList<>();
          for (int i = 0; i < eps.size(); i++) {
            l.add(Go.Json.object().field("Endpoint", eps.get(i)).field("HashKV", rs.get(i)));
          }
          json(l);
        }
        case "fields" -> {
          for (int i = 0; i < eps.size(); i++) {
            fieldsHeader(rs.get(i).getHeader());
            out.println("\"Endpoint\" : " + Go.quote(eps.get(i)));
            out.println("\"Hash\" : " + Integer.toUnsignedString(rs.get(i).getHash()));
            out.println();
          }
        }
        case "table" -> {
          Table t = new Table("ENDPOINT", "HASH");
          for (int i = 0; i < eps.size(); i++) {
            t.add(eps.get(i), Integer.toUnsignedString(rs.get(i).getHash()));
          }
          t.render(out);
        }
        default -> {
          for (int i = 0; i < eps.size(); i++) {
            out.println(eps.get(i) + ", " + Integer.toUnsignedString(rs.get(i).getHash()));
          }
        }
      }
      return 0;
    }
  }

  // ---- alarm, defrag, move-leader, version ----

  @Command(
      name = "alarm",
      description = "Alarm related commands",
      subcommands = {AlarmList.class, AlarmDisarm.class})
  static final class Alarm {}

  static void printAlarms(CtlCommand c, AlarmResponse r) {
    switch (c.format()) {
      case "json" -> c.json(r);
      case "protobuf" -> c.protobuf(r);
      case "fields" -> {
        c.fieldsHeader(r.getHeader());
        for (AlarmMember a : r.getAlarmsList()) {
          c.out.println("\"MemberID\" : " + Go.u(a.getMemberID()));
          c.out.println("\"AlarmType\" : " + a.getAlarm().name());
          c.out.println();
        }
      }
      case "table" -> throw c.unsupported("table not supported as output format");
      default -> {
        for (AlarmMember a : r.getAlarmsList()) {
          c.out.printf("memberID:%s alarm:%s %n", Go.u(a.getMemberID()), a.getAlarm().name());
        }
      }
    }
  }

  @Command(name = "list", description = "Lists all alarms")
  static final class AlarmList extends CtlCommand {
    @Override
    int run() {
      try {
        printAlarms(
            this,
            client()
                .maintenance()
                .alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build()));
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      return 0;
    }
  }

  @Command(name = "disarm", description = "Disarms all alarms")
  static final class AlarmDisarm extends CtlCommand {
    @Override
    int run() {
      try {
        Client c = client();
        AlarmResponse all =
            c.maintenance()
                .alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build());
        AlarmResponse.Builder disarmed = AlarmResponse.newBuilder().setHeader(all.getHeader());
        for (AlarmMember a : all.getAlarmsList()) {
          AlarmResponse r =
              c.maintenance()
                  .alarm(
                      AlarmRequest.newBuilder()
                          .setAction(AlarmRequest.AlarmAction.DEACTIVATE)
                          .setMemberID(a.getMemberID())
                          .setAlarm(a.getAlarm())
                          .build());
          disarmed.setHeader(r.getHeader()).addAllAlarms(r.getAlarmsList());
        }
        printAlarms(this, disarmed.build());
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      return 0;
    }
  }

  @Command(name = "defrag", description = "Defragments the storage of the etcd members")
  static final class Defrag extends EndpointCommand {
    @Override
    int run() {
      boolean failed = false;
      for (String ep : endpoints()) {
        try {
          connect(ep).maintenance().defragment(DefragmentRequest.getDefaultInstance());
          out.printf("Finished defragmenting etcd member[%s]%n", ep);
        } catch (StatusRuntimeException e) {
          spec.commandLine()
              .getErr()
              .printf("Failed to defragment etcd member[%s] (%s)%n", ep, Client.message(e));
          failed = true;
        }
      }
      return failed ? CtlException.EXIT_ERROR : 0;
    }
  }

  @Command(
      name = "move-leader",
      description = "Transfers leadership to another etcd cluster member.")
  static final class MoveLeader extends CtlCommand {
    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      if (args.size() != 1) {
        throw badArgs("move-leader command needs 1 argument");
      }
      long target;
      try {
        target = Long.parseUnsignedLong(args.get(0), 16);
      } catch (NumberFormatException e) {
        throw badArgs("strconv.ParseUint: parsing " + Go.quote(args.get(0)) + ": invalid syntax");
      }
      try {
        // etcdctl asks each endpoint's status to find the leader, then asks the leader.
        Client leader = null;
        long leaderId = 0;
        for (String ep : s.endpoints()) {
          Client c = connect(ep);
          StatusResponse st = c.maintenance().status(StatusRequest.getDefaultInstance());
          if (st.getLeader() == st.getHeader().getMemberId()) {
            leader = c;
            leaderId = st.getLeader();
            break;
          }
        }
        if (leader == null) {
          throw badArgs("no leader endpoint given at " + s.endpoints());
        }
        leader.maintenance().moveLeader(MoveLeaderRequest.newBuilder().setTargetID(target).build());
        out.printf(
            "Leadership transferred from %s to %s%n",
            Long.toHexString(leaderId), Long.toHexString(target));
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      return 0;
    }
  }

  @Command(name = "version", description = "Prints the version of etcdctl")
  static final class Version implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      String v = Version.class.getPackage().getImplementationVersion();
      spec.commandLine().getOut().println("etchctl version: " + (v == null ? "0.1.0-SNAPSHOT" : v));
      spec.commandLine().getOut().println("API version: 3.4");
    }
  }
}
