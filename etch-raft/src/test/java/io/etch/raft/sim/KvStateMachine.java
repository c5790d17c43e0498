package io.etch.raft.sim;

import io.etch.raft.ConfChange;
import io.etch.raft.ConfChangeType;
import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The simulated application: a small key-value map. Entries are "set key=value" with a unique
 * operation id; a duplicated proposal (the network may deliver a forwarded proposal twice) is
 * applied once, as etcd's request ids do. Each value remembers the log index that wrote it, which
 * is what the read-linearizability check compares. The chain digest of everything applied is part
 * of the state, so a snapshot carries it and a restored node can prove its prefix.
 *
 * <p>Confined to the simulator's thread; one instance per node incarnation.
 */
final class KvStateMachine {
  /** A value and the index of the entry that wrote it. */
  record Versioned(String value, long index) {}

  /** A decoded write. */
  record Write(long opId, String key, String value) {}

  private final TreeMap<String, Versioned> data = new TreeMap<>();
  private final TreeSet<Long> appliedOps = new TreeSet<>();

  /** Members that left the cluster: like etcd, the application never lets an id back in. */
  private final TreeSet<Long> removed = new TreeSet<>();

  private long appliedIndex;
  private long digest;

  long appliedIndex() {
    return appliedIndex;
  }

  long digest() {
    return digest;
  }

  Versioned get(String key) {
    return data.get(key);
  }

  boolean hasApplied(long opId) {
    return appliedOps.contains(opId);
  }

  /**
   * The change to hand raft for a committed configuration change: itself, or a no-op if it would
   * bring back a removed member (etcd's server does the same: it applies such a change with no node
   * id).
   */
  ConfChange filter(ConfChange cc) {
    for (ConfChange.ConfChangeSingle c : cc.changes()) {
      if (c.type() != ConfChangeType.REMOVE_NODE && removed.contains(c.nodeId())) {
        return ConfChange.single(ConfChangeType.UPDATE_NODE, c.nodeId(), cc.context());
      }
    }
    return cc;
  }

  /** Records the members a configuration change removed. */
  void onConfApplied(ConfState before, ConfState after) {
    TreeSet<Long> gone = Simulation.members(before);
    gone.removeAll(Simulation.members(after));
    removed.addAll(gone);
  }

  Map<String, Versioned> data() {
    return data;
  }

  /**
   * Applies one committed entry in log order. Returns the write that took effect, or null (no-op,
   * configuration change, or a duplicate of an already applied operation).
   */
  Write apply(Entry e) {
    appliedIndex = e.index();
    digest = SafetyChecker.chain(digest, e);
    if (e.type() != EntryType.NORMAL || e.data().length == 0) {
      return null;
    }
    Write w = decodeWrite(e.data());
    if (!appliedOps.add(w.opId())) {
      return null;
    }
    data.put(w.key(), new Versioned(w.value(), e.index()));
    return w;
  }

  static byte[] encodeWrite(long opId, String key, String value) {
    ByteArrayOutputStream bo = new ByteArrayOutputStream(32);
    try (DataOutputStream out = new DataOutputStream(bo)) {
      out.writeByte('W');
      out.writeLong(opId);
      out.writeUTF(key);
      out.writeUTF(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bo.toByteArray();
  }

  static Write decodeWrite(byte[] b) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
      if (in.readByte() != 'W') {
        throw new IllegalStateException("not a write entry");
      }
      return new Write(in.readLong(), in.readUTF(), in.readUTF());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Serializes the whole state, including the applied index and digest. */
  byte[] snapshot() {
    ByteArrayOutputStream bo = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bo)) {
      out.writeLong(appliedIndex);
      out.writeLong(digest);
      out.writeInt(data.size());
      for (Map.Entry<String, Versioned> kv : data.entrySet()) {
        out.writeUTF(kv.getKey());
        out.writeUTF(kv.getValue().value());
        out.writeLong(kv.getValue().index());
      }
      out.writeInt(appliedOps.size());
      for (long op : appliedOps) {
        out.writeLong(op);
      }
      out.writeInt(removed.size());
      for (long id : removed) {
        out.writeLong(id);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bo.toByteArray();
  }

  /** Rebuilds a state machine from {@link #snapshot()} bytes; empty bytes give an empty one. */
  static KvStateMachine restore(byte[] snap) {
    KvStateMachine sm = new KvStateMachine();
    if (snap.length == 0) {
      return sm;
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(snap))) {
      sm.appliedIndex = in.readLong();
      sm.digest = in.readLong();
      int n = in.readInt();
      for (int i = 0; i < n; i++) {
        String k = in.readUTF();
        String v = in.readUTF();
        sm.data.put(k, new Versioned(v, in.readLong()));
      }
      int m = in.readInt();
      for (int i = 0; i < m; i++) {
        sm.appliedOps.add(in.readLong());
      }
      int r = in.readInt();
      for (int i = 0; i < r; i++) {
        sm.removed.add(in.readLong());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return sm;
  }
}
