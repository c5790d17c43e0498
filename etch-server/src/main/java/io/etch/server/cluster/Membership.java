package io.etch.server.cluster;

import io.etch.api.internal.MemberAttrSet;
import io.etch.raft.ConfChange;
import io.etch.raft.ConfChange.ConfChangeSingle;
import io.etch.raft.ConfChangeType;
import io.etch.server.ClusterIds;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.storage.membership.MemberRecord;
import io.etch.storage.mvcc.ApplyBatch;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How committed membership changes reach the store's membership column family, so that member list
 * survives restarts and raft log compaction. Called on the apply thread only, inside the batch of
 * the entry being applied (the change is durable with its consistent index, as every apply).
 *
 * <p>etcd carries the new member's attributes in the conf change context; the bootstrap entries a
 * new cluster writes (ADD_NODE 1..n) carry none, so their name and peer URLs come from {@code
 * --initial-cluster}, exactly as etcd's bootstrap derives them. Client URLs are unknown until the
 * member publishes them ({@link MemberAttrSet}, etcd's publish), as in etcd.
 */
public final class Membership {
  private final Map<Long, MemberRecord> initial = new HashMap<>();

  /** The members as of the last applied entry; confined to the apply thread. */
  private final Map<Long, MemberRecord> current = new HashMap<>();

  private Listener listener =
      new Listener() {
        @Override
        public void memberAdded(MemberRecord m) {}

        @Override
        public void memberUpdated(MemberRecord m) {}

        @Override
        public void memberRemoved(long id) {}
      };

  /**
   * @param initialCluster {@code --initial-cluster}: name → peer URLs
   * @param token {@code --initial-cluster-token}, part of every member id
   * @param stored the members the store holds (as of its consistent index)
   */
  public Membership(
      Map<String, List<URI>> initialCluster, String token, List<MemberRecord> stored) {
    for (MemberRecord r : stored) {
      current.put(r.id(), r);
    }
    for (Map.Entry<String, List<URI>> m : initialCluster.entrySet()) {
      long id = ClusterIds.memberId(m.getValue(), token);
      initial.put(
          id,
          new MemberRecord(
              id, m.getKey(), m.getValue().stream().map(URI::toString).toList(), List.of(), false));
    }
  }

  /**
   * What membership changes mean outside the store (the peer transport, and this member's own
   * removal). Called on the apply thread as each change is applied.
   */
  public interface Listener {
    void memberAdded(MemberRecord m);

    void memberUpdated(MemberRecord m);

    void memberRemoved(long id);
  }

  /** Sets the listener; call before the apply thread starts. */
  public void setListener(Listener listener) {
    this.listener = listener;
  }

  /** After the store was replaced by a leader's snapshot: its members are the current ones. */
  public void reload(List<MemberRecord> stored) {
    current.clear();
    for (MemberRecord r : stored) {
      current.put(r.id(), r);
    }
  }

  /** The members as of the last applied entry. Apply thread only. */
  public Map<Long, MemberRecord> current() {
    return current;
  }

  /**
   * Records the effect of a committed conf change (etcd's {@code applyConfChange} on cluster) and
   * returns the members after it, or the etcd error it was refused with. The rules depend only on
   * the membership as of this entry, so every member decides the same; raft's configuration agrees
   * (see {@code RaftNode.demotesVoter}).
   */
  public Object applyConfChange(ApplyBatch b, ConfChange cc) {
    ConfChangeContext ctx = ConfChangeContext.decode(cc.context());
    for (ConfChangeSingle c : cc.changes()) {
      MemberRecord known = current.get(c.nodeId());
      switch (c.type()) {
        case ADD_NODE, ADD_LEARNER_NODE -> {
          boolean learner = c.type() == ConfChangeType.ADD_LEARNER_NODE;
          if (known != null && (learner || !known.isLearner())) {
            return new EtcdStatusException(EtcdStatus.ID_EXISTS);
          }
          MemberRecord added = ctx.member().filter(m -> m.id() == c.nodeId()).orElse(known);
          if (added == null) {
            added = initial.get(c.nodeId());
          }
          if (added == null) {
            added = new MemberRecord(c.nodeId(), "", List.of(), List.of(), learner);
          }
          // A learner promoted (ADD_NODE on a learner) keeps its name and client URLs.
          MemberRecord rec =
              known != null
                  ? new MemberRecord(
                      known.id(), known.name(), known.peerURLs(), known.clientURLs(), false)
                  : new MemberRecord(
                      c.nodeId(), added.name(), added.peerURLs(), added.clientURLs(), learner);
          b.putMember(rec);
          current.put(rec.id(), rec);
          if (known == null) {
            listener.memberAdded(rec);
          } else {
            listener.memberUpdated(rec);
          }
        }
        case REMOVE_NODE -> {
          if (known == null) {
            return new EtcdStatusException(EtcdStatus.MEMBER_NOT_FOUND);
          }
          b.removeMember(c.nodeId());
          current.remove(c.nodeId());
          listener.memberRemoved(c.nodeId());
        }
        case UPDATE_NODE -> {
          if (known == null) {
            return new EtcdStatusException(EtcdStatus.MEMBER_NOT_FOUND);
          }
          Optional<MemberRecord> updated = ctx.member().filter(m -> m.id() == c.nodeId());
          if (updated.isPresent()) {
            MemberRecord rec =
                new MemberRecord(
                    known.id(),
                    known.name(),
                    updated.get().peerURLs(),
                    known.clientURLs(),
                    known.isLearner());
            b.putMember(rec);
            current.put(rec.id(), rec);
            listener.memberUpdated(rec);
          }
        }
      }
    }
    return List.copyOf(current.values());
  }

  /**
   * etcd's publish: a started member records its name and client URLs. A member not in the
   * configuration (removed meanwhile) is ignored, as etcd ignores it.
   */
  public void applyAttributes(ApplyBatch b, MemberAttrSet attrs) {
    MemberRecord known = current.get(attrs.getMemberId());
    if (known == null) {
      return;
    }
    MemberRecord rec =
        new MemberRecord(
            known.id(),
            attrs.getName(),
            known.peerURLs(),
            List.copyOf(attrs.getClientUrlsList()),
            known.isLearner());
    b.putMember(rec);
    current.put(rec.id(), rec);
  }
}
