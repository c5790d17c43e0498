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
import io.etch.raft.ConfChangeType;
import io.etch.raft.Status;
import io.etch.server.ClusterIds;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.server.EtchServer;
import io.etch.storage.membership.MemberRecord;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's Cluster service. MemberList answers from the membership the store recorded as conf changes
 * were applied ({@link Membership}); with {@code linearizable} it first passes a read barrier, as
 * etcd 3.5 does.
 *
 * <p>Membership changes are validated here as etcd validates them before proposing (URLs, peer URLs
 * in use, learner limit, strict reconfiguration checks), then proposed as raft conf changes that
 * carry the member record; the response is sent once the change is applied on this member. A
 * learner's promotion is decided by the leader (it alone knows how far the learner's log is), so a
 * follower forwards it there, as etcd does.
 */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
  private static final Logger log = LoggerFactory.getLogger(ClusterService.class);

  /** etcd's {@code --experimental-max-learners} default. */
  static final int MAX_LEARNERS = 1;

  /** etcd's readyPercent: a learner holding this share of the leader's log may be promoted. */
  static final double LEARNER_READY_PERCENT = 0.9;

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
    reply(
        ready.thenApply(
            v ->
                MemberListResponse.newBuilder()
                    .setHeader(server.header(0))
                    .addAllMembers(members())
                    .build()),
        out);
  }

  @Override
  public void memberAdd(MemberAddRequest req, StreamObserver<MemberAddResponse> out) {
    if (!server.auth().admitAdmin(out)) {
      return; // root only, as etcd
    }
    List<String> urls;
    try {
      urls = validUrls(req.getPeerURLsList());
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    List<MemberRecord> members = server.store().members();
    for (MemberRecord m : members) {
      for (String u : urls) {
        if (m.peerURLs().contains(u)) {
          out.onError(EtcdStatus.PEER_URL_EXIST.exception());
          return;
        }
      }
    }
    if (req.getIsLearner()) {
      if (members.stream().filter(MemberRecord::isLearner).count() >= MAX_LEARNERS) {
        out.onError(EtcdStatus.TOO_MANY_LEARNERS.exception());
        return;
      }
    } else if (!readyToAddVoter(members)) {
      out.onError(EtcdStatus.NOT_ENOUGH_STARTED_MEMBERS.exception());
      return;
    }
    // etcd's NewMember: the peer URLs, the cluster token and the time make the new member's ID.
    long id =
        ClusterIds.memberId(
            urls.stream().map(URI::create).toList(),
            server.config().initialClusterToken() + Instant.now().getEpochSecond());
    MemberRecord added = new MemberRecord(id, "", urls, List.of(), req.getIsLearner());
    ConfChangeType type =
        req.getIsLearner() ? ConfChangeType.ADD_LEARNER_NODE : ConfChangeType.ADD_NODE;
    CompletableFuture<List<MemberRecord>> f = server.proposeConfChange(type, id, added);
    reply(
        f.thenApply(
            after -> {
              log.info("added member {} with peer URLs {}", Long.toHexString(id), urls);
              return MemberAddResponse.newBuilder()
                  .setHeader(server.header(0))
                  .setMember(toProto(added))
                  .addAllMembers(sorted(after))
                  .build();
            }),
        out);
  }

  @Override
  public void memberRemove(MemberRemoveRequest req, StreamObserver<MemberRemoveResponse> out) {
    if (!server.auth().admitAdmin(out)) {
      return; // root only, as etcd
    }
    List<MemberRecord> members = server.store().members();
    MemberRecord m = find(members, req.getID());
    if (m == null) {
      out.onError(EtcdStatus.MEMBER_NOT_FOUND.exception());
      return;
    }
    if (!m.isLearner() && !readyToRemoveVoter(members, m.id())) {
      out.onError(EtcdStatus.NOT_ENOUGH_STARTED_MEMBERS.exception());
      return;
    }
    CompletableFuture<List<MemberRecord>> f =
        server.proposeConfChange(ConfChangeType.REMOVE_NODE, m.id(), null);
    reply(
        f.thenApply(
            after -> {
              log.info("removed member {}", Long.toHexString(m.id()));
              return MemberRemoveResponse.newBuilder()
                  .setHeader(server.header(0))
                  .addAllMembers(sorted(after))
                  .build();
            }),
        out);
  }

  @Override
  public void memberUpdate(MemberUpdateRequest req, StreamObserver<MemberUpdateResponse> out) {
    if (!server.auth().admitAdmin(out)) {
      return; // root only, as etcd
    }
    List<String> urls;
    try {
      urls = validUrls(req.getPeerURLsList());
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    List<MemberRecord> members = server.store().members();
    MemberRecord m = find(members, req.getID());
    if (m == null) {
      out.onError(EtcdStatus.MEMBER_NOT_FOUND.exception());
      return;
    }
    for (MemberRecord other : members) {
      if (other.id() != m.id() && other.peerURLs().stream().anyMatch(urls::contains)) {
        out.onError(EtcdStatus.PEER_URL_EXIST.exception());
        return;
      }
    }
    MemberRecord updated = new MemberRecord(m.id(), m.name(), urls, m.clientURLs(), m.isLearner());
    CompletableFuture<List<MemberRecord>> f =
        server.proposeConfChange(ConfChangeType.UPDATE_NODE, m.id(), updated);
    reply(
        f.thenApply(
            after -> {
              return MemberUpdateResponse.newBuilder()
                  .setHeader(server.header(0))
                  .addAllMembers(sorted(after))
                  .build();
            }),
        out);
  }

  @Override
  public void memberPromote(MemberPromoteRequest req, StreamObserver<MemberPromoteResponse> out) {
    if (!server.auth().admitAdmin(out)) {
      return; // root only, as etcd
    }
    MemberRecord m = find(server.store().members(), req.getID());
    if (m == null) {
      out.onError(EtcdStatus.MEMBER_NOT_FOUND.exception());
      return;
    }
    if (!m.isLearner()) {
      out.onError(EtcdStatus.CAN_ONLY_PROMOTE_LEARNER.exception());
      return;
    }
    if (!server.raft().isLeader()) {
      // Only the leader knows how far the learner's log is: etcd forwards promotion to it.
      Optional<ManagedChannel> ch = server.leaderForwarder().leaderChannel();
      if (ch.isEmpty()) {
        out.onError(EtcdStatus.NO_LEADER.exception());
        return;
      }
      ClusterGrpc.newStub(ch.get())
          .withDeadlineAfter(server.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .memberPromote(req, out);
      return;
    }
    CompletableFuture<List<MemberRecord>> f =
        server
            .raft()
            .status()
            .thenCompose(
                st -> {
                  Status.ProgressView leader = st.progress().get(st.id());
                  Status.ProgressView learner = st.progress().get(m.id());
                  // etcd's isLearnerReady: the learner holds at least 90% of the leader's log.
                  if (leader == null
                      || learner == null
                      || (double) learner.match() < leader.match() * LEARNER_READY_PERCENT) {
                    return CompletableFuture.failedFuture(
                        new EtcdStatusException(EtcdStatus.LEARNER_NOT_READY));
                  }
                  return server.proposeConfChange(ConfChangeType.ADD_NODE, m.id(), m);
                });
    reply(
        f.thenApply(
            after -> {
              log.info("promoted learner {} to voting member", Long.toHexString(m.id()));
              return MemberPromoteResponse.newBuilder()
                  .setHeader(server.header(0))
                  .addAllMembers(sorted(after))
                  .build();
            }),
        out);
  }

  /** Sends {@code f}'s response, or the etcd error it failed with. */
  private static <T> void reply(CompletableFuture<T> f, StreamObserver<T> out) {
    f.whenComplete(
        (resp, err) -> {
          if (err != null) {
            out.onError(EtcdStatus.of(err));
          } else {
            out.onNext(resp);
            out.onCompleted();
          }
        });
  }

  /** etcd's parsing of member URLs: absolute http(s) URLs with a host and a port. */
  private static List<String> validUrls(List<String> urls) {
    if (urls.isEmpty()) {
      throw EtcdStatus.BAD_MEMBER_URLS.exception();
    }
    List<String> out = new ArrayList<>();
    for (String s : urls) {
      try {
        URI u = new URI(s);
        if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme()))
            || u.getHost() == null
            || u.getPort() < 0
            || (u.getPath() != null && !u.getPath().isEmpty())) {
          throw EtcdStatus.BAD_MEMBER_URLS.exception();
        }
        out.add(u.toString());
      } catch (URISyntaxException e) {
        throw EtcdStatus.BAD_MEMBER_URLS.exception();
      }
    }
    return out;
  }

  /**
   * etcd's strict reconfiguration check for a new voter: the voters that have started (published
   * their name), counting the new one as not started, must still form a quorum.
   */
  static boolean readyToAddVoter(List<MemberRecord> members) {
    int voters = 1;
    int started = 0;
    for (MemberRecord m : members) {
      if (!m.isLearner()) {
        voters++;
        if (!m.name().isEmpty()) {
          started++;
        }
      }
    }
    if (started == 1 && voters == 2) {
      return true; // a one-member cluster may always grow to two (etcd's exception)
    }
    return started >= voters / 2 + 1;
  }

  /** etcd's check before removing a voter: the started voters left must form a quorum. */
  static boolean readyToRemoveVoter(List<MemberRecord> members, long removed) {
    int voters = 0;
    int started = 0;
    for (MemberRecord m : members) {
      if (!m.isLearner() && m.id() != removed) {
        voters++;
        if (!m.name().isEmpty()) {
          started++;
        }
      }
    }
    return voters > 0 && started >= voters / 2 + 1;
  }

  private static MemberRecord find(List<MemberRecord> members, long id) {
    for (MemberRecord m : members) {
      if (m.id() == id) {
        return m;
      }
    }
    return null;
  }

  private static List<Member> sorted(List<MemberRecord> members) {
    return members.stream()
        .sorted(Comparator.comparingLong(MemberRecord::id))
        .map(ClusterService::toProto)
        .toList();
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
    return sorted(server.store().members());
  }

  public static Member toProto(MemberRecord r) {
    return Member.newBuilder()
        .setID(r.id())
        .setName(r.name())
        .addAllPeerURLs(r.peerURLs())
        .addAllClientURLs(r.clientURLs())
        .setIsLearner(r.isLearner())
        .build();
  }
}
