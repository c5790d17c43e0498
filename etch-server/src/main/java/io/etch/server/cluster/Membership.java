package io.etch.server.cluster;

import io.etch.api.internal.MemberAttrSet;
import io.etch.raft.ConfChange;
import io.etch.raft.ConfChange.ConfChangeSingle;
import io.etch.server.ClusterIds;
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

  /** Records the effect of a committed conf change (etcd's {@code applyConfChange} on cluster). */
  public void applyConfChange(ApplyBatch b, ConfChange cc) {
    for (ConfChangeSingle c : cc.changes()) {
      switch (c.type()) {
        case ADD_NODE, ADD_LEARNER_NODE -> {
          boolean learner = c.type() == io.etch.raft.ConfChangeType.ADD_LEARNER_NODE;
          MemberRecord known = current.get(c.nodeId());
          MemberRecord added = fromContext(cc.context(), c.nodeId()).orElse(known);
          if (added == null) {
            added = initial.get(c.nodeId());
          }
          if (added == null) {
            added = new MemberRecord(c.nodeId(), "", List.of(), List.of(), learner);
          }
          // A learner promoted (ADD_NODE on a learner) keeps its attributes.
          MemberRecord rec =
              new MemberRecord(
                  c.nodeId(), added.name(), added.peerURLs(), added.clientURLs(), learner);
          b.putMember(rec);
          current.put(rec.id(), rec);
        }
        case REMOVE_NODE -> {
          b.removeMember(c.nodeId());
          current.remove(c.nodeId());
        }
        case UPDATE_NODE -> {
          MemberRecord known = current.get(c.nodeId());
          Optional<MemberRecord> updated = fromContext(cc.context(), c.nodeId());
          if (known != null && updated.isPresent()) {
            MemberRecord rec =
                new MemberRecord(
                    known.id(),
                    known.name(),
                    updated.get().peerURLs(),
                    known.clientURLs(),
                    known.isLearner());
            b.putMember(rec);
            current.put(rec.id(), rec);
          }
        }
      }
    }
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

  /** A member record carried as a conf change context, when there is one for this node. */
  private static Optional<MemberRecord> fromContext(byte[] context, long nodeId) {
    if (context == null || context.length == 0) {
      return Optional.empty();
    }
    try {
      MemberRecord r = MemberRecord.decode(context);
      return r.id() == nodeId ? Optional.of(r) : Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
