package io.etch.server.raft;

import io.etch.raft.Entry;
import io.etch.raft.Snapshot;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The apply thread: applies each Ready's committed entries to the {@link StateMachine} in order,
 * one call per Ready, and wakes readers waiting for an index to be applied. Only this thread calls
 * the state machine's apply/restore; {@link #appliedIndex} is published through a volatile.
 */
public final class Applier implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Applier.class);

  private record Task(Snapshot snapshot, List<Entry> entries) {}

  private record Waiter(long index, CompletableFuture<Void> done) {}

  private static final Task STOP = new Task(null, List.of());

  private final StateMachine sm;
  private final LinkedBlockingQueue<Task> tasks = new LinkedBlockingQueue<>();
  private final PriorityQueue<Waiter> waiters =
      new PriorityQueue<>((a, b) -> Long.compare(a.index(), b.index())); // guarded by itself
  private final Thread thread;
  private volatile long applied;
  private final Consumer<Throwable> onFatal;

  Applier(StateMachine sm, Consumer<Throwable> onFatal) {
    this.onFatal = onFatal;
    this.sm = sm;
    this.applied = sm.appliedIndex();
    this.thread = new Thread(this::run, "etch-apply");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void submit(Snapshot snapshot, List<Entry> entries) {
    tasks.add(new Task(snapshot, entries));
  }

  public long appliedIndex() {
    return applied;
  }

  /** Completes once every entry up to {@code index} is applied. */
  public CompletableFuture<Void> waitApplied(long index) {
    if (applied >= index) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (waiters) {
      waiters.add(new Waiter(index, f));
    }
    // The apply thread may have passed index between the check and the add.
    wake();
    return f;
  }

  private void wake() {
    long a = applied;
    synchronized (waiters) {
      while (!waiters.isEmpty() && waiters.peek().index() <= a) {
        waiters.poll().done().complete(null);
      }
    }
  }

  private void run() {
    try {
      while (true) {
        Task t = tasks.take();
        if (t == STOP) {
          return;
        }
        if (t.snapshot() != null && !t.snapshot().isEmpty()) {
          sm.restore(t.snapshot());
        }
        List<Entry> ents = t.entries();
        // Entries at or below what the store already holds are skipped (replay after restart).
        int from = 0;
        long already = sm.appliedIndex();
        while (from < ents.size() && ents.get(from).index() <= already) {
          from++;
        }
        if (from < ents.size()) {
          sm.apply(from == 0 ? ents : ents.subList(from, ents.size()));
        }
        applied = Math.max(sm.appliedIndex(), applied);
        wake();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable e) {
      log.error("apply stopped: {}", e.toString(), e);
      onFatal.accept(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    tasks.add(STOP);
    thread.join(5_000);
  }
}
