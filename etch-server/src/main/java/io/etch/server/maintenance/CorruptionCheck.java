package io.etch.server.maintenance;

import io.etch.api.etcdserverpb.AlarmType;
import io.etch.api.etcdserverpb.HashKVRequest;
import io.etch.api.etcdserverpb.HashKVResponse;
import io.etch.api.etcdserverpb.MaintenanceGrpc;
import io.etch.server.EtchServer;
import io.etch.storage.membership.MemberRecord;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd 3.4's corruption checks. The initial one ({@code --experimental-initial-corrupt-check})
 * compares this member's HashKV at its revision with every peer's at the same revision before the
 * member serves clients, and refuses to start on a mismatch. The periodic one ({@code
 * --experimental-corrupt-check-time}) runs on the leader: a follower whose hash at the leader's
 * revision differs gets a CORRUPT alarm, raised through raft (then every member refuses requests,
 * etcd's corrupt applier).
 *
 * <p>Hashes are compared only when both sides have the same compact revision (as etcd); a peer that
 * has not reached the revision, or cannot be reached, is skipped with a warning. Peers are asked
 * over their client URLs (plain text; etcd asks over the peer URLs, so with auth enabled or TLS
 * client URLs this check skips them).
 */
public final class CorruptionCheck implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CorruptionCheck.class);

  private final EtchServer server;
  private ScheduledExecutorService timer;

  public CorruptionCheck(EtchServer server) {
    this.server = server;
  }

  /** A peer's answer for one revision. */
  record PeerHash(long memberId, long revision, long compactRevision, int hash) {}

  /**
   * The initial check.
   *
   * @throws IOException naming the peers whose hash differs
   */
  public void checkInitial() throws IOException {
    long rev = server.store().currentRevision();
    io.etch.storage.mvcc.HashKVResponse own = server.store().hashKV(rev);
    List<String> mismatched = new ArrayList<>();
    for (PeerHash p : peerHashes(rev)) {
      if (p.compactRevision() == ownCompact(own) && p.hash() != own.hash()) {
        mismatched.add(Long.toHexString(p.memberId()));
      }
    }
    if (!mismatched.isEmpty()) {
      throw new IOException(
          Long.toHexString(server.memberId())
              + " found data inconsistency with peers "
              + mismatched
              + " at revision "
              + rev
              + " (--experimental-initial-corrupt-check): own hash "
              + Integer.toUnsignedString(own.hash()));
    }
    log.info(
        "initial corruption check passed at revision {} (hash {})",
        rev,
        Integer.toUnsignedString(own.hash()));
  }

  /** Starts the leader's periodic check every {@code interval}. */
  public void startPeriodic(Duration interval) {
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "etch-corrupt-check");
              t.setDaemon(true);
              return t;
            });
    long ms = interval.toMillis();
    timer.scheduleWithFixedDelay(this::checkAsLeader, ms, ms, TimeUnit.MILLISECONDS);
  }

  /** One round of the periodic check; the raised alarms' member IDs (tests call it too). */
  public List<Long> checkAsLeader() {
    List<Long> raised = new ArrayList<>();
    try {
      if (!server.raft().isLeader()) {
        return raised;
      }
      long rev = server.store().currentRevision();
      io.etch.storage.mvcc.HashKVResponse own = server.store().hashKV(rev);
      for (PeerHash p : peerHashes(rev)) {
        if (p.compactRevision() == ownCompact(own) && p.hash() != own.hash()) {
          log.error(
              "member {} has hash {} at revision {}, the leader {}: raising CORRUPT",
              Long.toHexString(p.memberId()),
              Integer.toUnsignedString(p.hash()),
              rev,
              Integer.toUnsignedString(own.hash()));
          server
              .propose(
                  io.etch.api.internal.InternalRequest.newBuilder()
                      .setAlarm(
                          io.etch.api.etcdserverpb.AlarmRequest.newBuilder()
                              .setAction(io.etch.api.etcdserverpb.AlarmRequest.AlarmAction.ACTIVATE)
                              .setMemberID(p.memberId())
                              .setAlarm(AlarmType.CORRUPT)))
              .get(10, TimeUnit.SECONDS);
          raised.add(p.memberId());
        }
      }
    } catch (Exception e) {
      log.warn("corruption check failed: {}", e.toString());
    }
    return raised;
  }

  private static long ownCompact(io.etch.storage.mvcc.HashKVResponse own) {
    return own.compactRevision() == 0 ? -1 : own.compactRevision();
  }

  private List<PeerHash> peerHashes(long rev) {
    List<PeerHash> out = new ArrayList<>();
    for (MemberRecord m : server.store().members()) {
      if (m.id() == server.memberId() || m.clientURLs().isEmpty()) {
        continue;
      }
      URI u = URI.create(m.clientURLs().get(0));
      ManagedChannel ch =
          NettyChannelBuilder.forAddress(u.getHost(), u.getPort()).usePlaintext().build();
      try {
        HashKVResponse r =
            MaintenanceGrpc.newBlockingStub(ch)
                .withDeadlineAfter(5, TimeUnit.SECONDS)
                .hashKV(HashKVRequest.newBuilder().setRevision(rev).build());
        out.add(
            new PeerHash(r.getHeader().getMemberId(), rev, r.getCompactRevision(), r.getHash()));
      } catch (StatusRuntimeException e) {
        log.warn(
            "corruption check: cannot get hash of member {} at revision {}: {}",
            Long.toHexString(m.id()),
            rev,
            e.getStatus());
      } finally {
        ch.shutdownNow();
      }
    }
    return out;
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
