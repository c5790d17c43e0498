package io.etch.server.cluster;

import io.etch.api.etcdserverpb.ClusterGrpc;
import io.etch.api.etcdserverpb.Member;
import io.etch.api.etcdserverpb.MemberAddRequest;
import io.etch.api.etcdserverpb.MemberAddResponse;
import io.etch.api.etcdserverpb.MemberListRequest;
import io.etch.api.etcdserverpb.MemberListResponse;
import io.etch.api.etcdserverpb.MemberPromoteRequest;
import io.etch.api.etcdserverpb.MemberPromoteResponse;
import io.etch.api.etcdserverpb.MemberRemoveRequest;
import io.etch.api.etcdserverpb.MemberRemoveResponse;
import io.etch.api.etcdserverpb.MemberUpdateRequest;
import io.etch.api.etcdserverpb.MemberUpdateResponse;
import io.etch.api.internal.InternalRequest;
import io.etch.api.internal.MemberAttrSet;
import io.etch.server.EtcdStatus;
import io.etch.server.EtchServer;
import io.etch.storage.membership.MemberRecord;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's Cluster service. MemberList answers from the membership the store recorded as conf changes
 * were applied ({@link Membership}); with {@code linearizable} it first passes a read barrier, as
 * etcd 3.5 does.
 *
 * <p>Membership changes need the peer transport to reach a new member, which this build lacks.
 * Until then the requests that etcd refuses on a one-member cluster are refused with etcd's own
 * errors (unknown member, peer URL in use, promoting a voter, removing the last member); the ones
 * etcd would carry out are refused as {@code etcdserver: not capable}.
 */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
  private static final Logger log = LoggerFactory.getLogger(ClusterService.class);

  private final EtchServer server;

  public ClusterService(EtchServer server) {
    this.server = server;
  }

  @Override
  public void memberList(MemberListRequest req, StreamObserver<MemberListResponse> out) {
    CompletableFuture<Void> ready =
        req.getLinearizable()
            ? server.linearizableBarrier()
            : CompletableFuture.completedFuture(null);
    ready.whenComplete(
        (v, err) -> {
          if (err != null) {
            out.onError(EtcdStatus.of(err));
            return;
          }
          out.onNext(
              MemberListResponse.newBuilder()
                  .setHeader(server.header(0))
                  .addAllMembers(members())
                  .build());
          out.onCompleted();
        });
  }

  @Override
  public void memberAdd(MemberAddRequest req, StreamObserver<MemberAddResponse> out) {
    if (!server.auth().admitAdmin(out)) {
      return; // root only, as etcd
    }
    for (MemberRecord m : server.store().members()) {
      for (String u : req.getPeerURLsList()) {
        if (m.peerURLs().contains(u)) {
          out.onError(EtcdStatus.PEER_URL_EXIST.exception());
          return;
        }
      }
    }
    out.onError(EtcdStatus.NOT_CAPABLE.exception());
  }

  @Override
  public void memberRemove(MemberRemoveRequest req, StreamObserver<MemberRemoveResponse> out) {
    if (!server.auth().admitAdmin(out)) {
      return; // root only, as etcd
    }
    List<MemberRecord> members = server.store().members();
    if (members.stream().noneMatch(m -> m.id() == req.getID())) {
      out.onError(EtcdStatus.MEMBER_NOT_FOUND.exception());
    } else if (members.size() == 1) {
      // etcd's strict reconfiguration check: no quorum would be left.
      out.onError(EtcdStatus.NOT_ENOUGH_STARTED_MEMBERS.exception());
    } else {
      out.onError(EtcdStatus.NOT_CAPABLE.exception());
    }
  }

  @Override
  public void memberUpdate(MemberUpdateRequest req, StreamObserver<MemberUpdateResponse> out) {
    if (!server.auth().admitAdmin(out)) {
      return; // root only, as etcd
    }
    if (server.store().members().stream().noneMatch(m -> m.id() == req.getID())) {
      out.onError(EtcdStatus.MEMBER_NOT_FOUND.exception());
    } else {
      out.onError(EtcdStatus.NOT_CAPABLE.exception());
    }
  }

  @Override
  public void memberPromote(MemberPromoteRequest req, StreamObserver<MemberPromoteResponse> out) {
    if (!server.auth().admitAdmin(out)) {
      return; // root only, as etcd
    }
    MemberRecord m =
        server.store().members().stream()
            .filter(r -> r.id() == req.getID())
            .findFirst()
            .orElse(null);
    if (m == null) {
      out.onError(EtcdStatus.MEMBER_NOT_FOUND.exception());
    } else if (!m.isLearner()) {
      out.onError(EtcdStatus.CAN_ONLY_PROMOTE_LEARNER.exception());
    } else {
      out.onError(EtcdStatus.NOT_CAPABLE.exception());
    }
  }

  /**
   * etcd's publish: once started, a member records its name and client URLs through raft, so every
   * member lists them; retried until it succeeds or the member stops (etcd retries forever too).
   */
  public static CompletableFuture<Void> publish(EtchServer server) {
    MemberAttrSet attrs =
        MemberAttrSet.newBuilder()
            .setMemberId(server.memberId())
            .setName(server.config().name())
            .addAllClientUrls(
                server.config().advertiseClientUrls().stream().map(URI::toString).toList())
            .build();
    CompletableFuture<Void> done = new CompletableFuture<>();
    publish(server, attrs, done);
    return done;
  }

  private static void publish(
      EtchServer server, MemberAttrSet attrs, CompletableFuture<Void> done) {
    server
        .propose(InternalRequest.newBuilder().setMemberAttrSet(attrs))
        .whenComplete(
            (a, err) -> {
              if (err == null) {
                log.info(
                    "published member {} attributes: name {}, client URLs {}",
                    Long.toHexString(attrs.getMemberId()),
                    attrs.getName(),
                    attrs.getClientUrlsList());
                done.complete(null);
              } else if (!server.raft().isRunning()) {
                done.completeExceptionally(err);
              } else {
                log.warn("publishing member attributes failed, retrying: {}", err.toString());
                CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS)
                    .execute(() -> publish(server, attrs, done));
              }
            });
  }

  private List<Member> members() {
    return server.store().members().stream()
        .sorted(Comparator.comparingLong(MemberRecord::id))
        .map(ClusterService::toProto)
        .toList();
  }

  static Member toProto(MemberRecord r) {
    return Member.newBuilder()
        .setID(r.id())
        .setName(r.name())
        .addAllPeerURLs(r.peerURLs())
        .addAllClientURLs(r.clientURLs())
        .setIsLearner(r.isLearner())
        .build();
  }
}
