package io.etch.server.transport;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.etch.api.internal.RaftMessage;
import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import io.etch.raft.Message;
import io.etch.raft.MessageType;
import io.etch.raft.Snapshot;
import io.etch.raft.SnapshotMetadata;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Raft messages to and from their wire form ({@code etchpb.RaftMessage}). The wire type numbers are
 * the raft enum's order plus one (0 is "unset"); local message kinds are refused on receipt.
 */
public final class RaftCodec {
  private static final MessageType[] TYPES = MessageType.values();

  private RaftCodec() {}

  public static RaftMessage encode(Message m) {
    RaftMessage.Builder b =
        RaftMessage.newBuilder()
            .setTypeValue(m.type().ordinal() + 1)
            .setTo(m.to())
            .setFrom(m.from())
            .setTerm(m.term())
            .setLogTerm(m.logTerm())
            .setIndex(m.index())
            .setCommit(m.commit())
            .setReject(m.reject())
            .setRejectHint(m.rejectHint());
    for (Entry e : m.entries()) {
      b.addEntries(
          io.etch.api.internal.Entry.newBuilder()
              .setTerm(e.term())
              .setIndex(e.index())
              .setTypeValue(e.type().ordinal())
              .setData(UnsafeByteOperations.unsafeWrap(e.data())));
    }
    if (m.snapshot() != null && !m.snapshot().isEmpty()) {
      b.setSnapshot(encodeSnapshotMeta(m.snapshot().metadata()));
    }
    if (m.context() != null) {
      b.setContext(ByteString.copyFrom(m.context()));
    }
    return b.build();
  }

  static io.etch.api.internal.Snapshot encodeSnapshotMeta(SnapshotMetadata md) {
    ConfState cs = md.confState();
    return io.etch.api.internal.Snapshot.newBuilder()
        .setMetadata(
            io.etch.api.internal.SnapshotMetadata.newBuilder()
                .setIndex(md.index())
                .setTerm(md.term())
                .setConfState(
                    io.etch.api.internal.ConfState.newBuilder()
                        .addAllVoters(cs.voters())
                        .addAllLearners(cs.learners())
                        .addAllVotersOutgoing(cs.votersOutgoing())
                        .addAllLearnersNext(cs.learnersNext())
                        .setAutoLeave(cs.autoLeave())))
        .build();
  }

  /**
   * Decodes a message from a peer.
   *
   * @throws IllegalArgumentException for an unknown or local message type or entry type
   */
  public static Message decode(RaftMessage r) {
    int t = r.getTypeValue() - 1;
    if (t < 0 || t >= TYPES.length || TYPES[t].isLocal()) {
      throw new IllegalArgumentException("invalid raft message type " + r.getTypeValue());
    }
    List<Entry> ents = new ArrayList<>(r.getEntriesCount());
    for (io.etch.api.internal.Entry e : r.getEntriesList()) {
      int et = e.getTypeValue();
      if (et < 0 || et >= EntryType.values().length) {
        throw new IllegalArgumentException("invalid entry type " + et);
      }
      ents.add(
          new Entry(e.getTerm(), e.getIndex(), EntryType.values()[et], e.getData().toByteArray()));
    }
    Snapshot snap = null;
    if (r.hasSnapshot()) {
      snap =
          new Snapshot(
              decodeSnapshotMeta(r.getSnapshot().getMetadata()),
              r.getSnapshot().getData().toByteArray());
    }
    return new Message(
        TYPES[t],
        r.getTo(),
        r.getFrom(),
        r.getTerm(),
        r.getLogTerm(),
        r.getIndex(),
        ents,
        r.getCommit(),
        snap,
        r.getReject(),
        r.getRejectHint(),
        r.getContext().isEmpty() ? null : r.getContext().toByteArray());
  }

  static SnapshotMetadata decodeSnapshotMeta(io.etch.api.internal.SnapshotMetadata m) {
    io.etch.api.internal.ConfState cs = m.getConfState();
    return new SnapshotMetadata(
        new ConfState(
            Set.copyOf(cs.getVotersList()),
            Set.copyOf(cs.getLearnersList()),
            Set.copyOf(cs.getVotersOutgoingList()),
            Set.copyOf(cs.getLearnersNextList()),
            cs.getAutoLeave()),
        m.getIndex(),
        m.getTerm());
  }
}
