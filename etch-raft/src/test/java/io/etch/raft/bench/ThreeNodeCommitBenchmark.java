package io.etch.raft.bench;

import io.etch.raft.ConfChange;
import io.etch.raft.Config;
import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import io.etch.raft.MemoryStorage;
import io.etch.raft.Message;
import io.etch.raft.RawNode;
import io.etch.raft.Ready;
import io.etch.raft.StateRole;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Entries of 128 bytes committed per second by a 3-node cluster held in memory (no I/O), with
 * proposals batched as a busy leader receives them. One invocation proposes one batch on the leader
 * and runs every node's Ready loop until the leader has applied it; the score is entries/s.
 *
 * <p>Run: {@code ./mvnw -B -q -pl etch-raft -Pbench test-compile exec:exec} (add {@code
 * -Djmh.args="-prof gc"} for allocation per entry).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ThreeNodeCommitBenchmark {
  static final int BATCH = 256;

  @Param({"128"})
  int entrySize;

  private final RawNode[] nodes = new RawNode[3];
  private final MemoryStorage[] storages = new MemoryStorage[3];
  private final long[] applied = new long[3];
  private final ArrayDeque<Message> network = new ArrayDeque<>();
  private List<byte[]> batch;
  private long sinceCompact;

  @Setup(Level.Trial)
  public void setUp() {
    for (int i = 0; i < 3; i++) {
      storages[i] = MemoryStorage.withVoters(1, 2, 3);
      nodes[i] =
          new RawNode(
              Config.builder(i + 1, storages[i], new Random(i))
                  .maxSizePerMsg(1 << 20)
                  .maxInflightMsgs(256)
                  .build());
    }
    drain();
    nodes[0].campaign();
    drain();
    if (nodes[0].status().softState().role() != StateRole.LEADER) {
      throw new IllegalStateException("node 1 did not become leader");
    }
    byte[] payload = new byte[entrySize];
    new Random(42).nextBytes(payload);
    batch = new ArrayList<>(BATCH);
    for (int i = 0; i < BATCH; i++) {
      batch.add(payload);
    }
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long commitBatch() {
    long target = nodes[0].status().hardState().commit();
    nodes[0].proposeBatch(batch);
    drain();
    sinceCompact += BATCH;
    if (sinceCompact >= 100_000) {
      compact();
    }
    long now = applied[0];
    if (now < target + BATCH) {
      throw new IllegalStateException("batch not applied: " + now + " < " + (target + BATCH));
    }
    return now;
  }

  private void drain() {
    boolean moved = true;
    while (moved) {
      moved = false;
      for (int i = 0; i < 3; i++) {
        RawNode n = nodes[i];
        while (n.hasReady()) {
          moved = true;
          Ready rd = n.ready();
          MemoryStorage s = storages[i];
          s.append(rd.entries());
          if (rd.hardState() != null) {
            s.setHardState(rd.hardState());
          }
          network.addAll(rd.messages());
          for (Entry e : rd.committedEntries()) {
            if (e.type() == EntryType.CONF_CHANGE) {
              n.applyConfChange(ConfChange.decode(e.data()));
            }
            applied[i] = e.index();
          }
          n.advance(rd);
        }
      }
      Message m;
      while ((m = network.pollFirst()) != null) {
        moved = true;
        nodes[(int) m.to() - 1].step(m);
      }
    }
  }

  private void compact() {
    sinceCompact = 0;
    for (int i = 0; i < 3; i++) {
      long idx = applied[i] - 1000;
      if (idx > storages[i].firstIndex()) {
        storages[i].createSnapshot(idx, nodes[i].status().confState(), new byte[0]);
        storages[i].compact(idx);
      }
    }
  }
}
