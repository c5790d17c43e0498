package io.etch.raft;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * A tiny in-memory cluster for focused tests: nodes persist each Ready to a MemoryStorage, messages
 * go through a FIFO queue that drops messages across cut links. Single-threaded.
 */
final class TestCluster {
  final Map<Long, RawNode> nodes = new TreeMap<>();
  final Map<Long, MemoryStorage> storages = new TreeMap<>();
  final Map<Long, List<Entry>> applied = new TreeMap<>();
  final Map<Long, List<ReadState>> reads = new TreeMap<>();
  final ArrayDeque<Message> queue = new ArrayDeque<>();
  final Set<String> cut = new HashSet<>();
  private final Random random;

  TestCluster(long seed, long... ids) {
    random = new Random(seed);
    for (long id : ids) {
      MemoryStorage s = MemoryStorage.withVoters(ids);
      storages.put(id, s);
      nodes.put(id, new RawNode(config(id, s)));
      applied.put(id, new ArrayList<>());
      reads.put(id, new ArrayList<>());
    }
    // Apply the bootstrap configuration entries before anyone campaigns.
    stabilize();
  }

  Config config(long id, MemoryStorage s) {
    return Config.builder(id, s, new Random(random.nextLong())).build();
  }

  RawNode node(long id) {
    return nodes.get(id);
  }

  void isolate(long id) {
    for (long other : nodes.keySet()) {
      if (other != id) {
        cut.add(id + "-" + other);
        cut.add(other + "-" + id);
      }
    }
  }

  void heal() {
    cut.clear();
  }

  /** Processes Readies and delivers messages until nothing moves. */
  void stabilize() {
    for (int round = 0; round < 10_000; round++) {
      boolean moved = false;
      for (Map.Entry<Long, RawNode> e : nodes.entrySet()) {
        RawNode n = e.getValue();
        while (n.hasReady()) {
          moved = true;
          handleReady(e.getKey(), n, n.ready());
        }
      }
      while (!queue.isEmpty()) {
        moved = true;
        Message m = queue.pollFirst();
        RawNode to = nodes.get(m.to());
        if (to != null && !cut.contains(m.from() + "-" + m.to())) {
          to.step(m);
        }
      }
      if (!moved) {
        return;
      }
    }
    throw new AssertionError("cluster did not stabilize");
  }

  void handleReady(long id, RawNode n, Ready rd) {
    MemoryStorage s = storages.get(id);
    if (!rd.snapshot().isEmpty()) {
      s.applySnapshot(rd.snapshot());
    }
    s.append(rd.entries());
    if (rd.hardState() != null) {
      s.setHardState(rd.hardState());
    }
    queue.addAll(rd.messages());
    for (Entry e : rd.committedEntries()) {
      if (e.type() == EntryType.CONF_CHANGE) {
        n.applyConfChange(ConfChange.decode(e.data()));
      }
      applied.get(id).add(e);
    }
    reads.get(id).addAll(rd.readStates());
    n.advance(rd);
  }

  void tickAll(int ticks) {
    for (int i = 0; i < ticks; i++) {
      for (RawNode n : nodes.values()) {
        n.tick();
      }
      stabilize();
    }
  }

  long leader() {
    long lead = 0;
    for (RawNode n : nodes.values()) {
      if (n.status().softState().role() == StateRole.LEADER) {
        lead = n.id();
      }
    }
    return lead;
  }

  List<byte[]> appliedData(long id) {
    List<byte[]> out = new ArrayList<>();
    for (Entry e : applied.get(id)) {
      if (e.type() == EntryType.NORMAL && e.data().length > 0) {
        out.add(e.data());
      }
    }
    return out;
  }
}
