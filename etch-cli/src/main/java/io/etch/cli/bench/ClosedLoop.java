package io.etch.cli.bench;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import org.HdrHistogram.Recorder;

/**
 * Runs a closed-loop workload as etcd's benchmark does: {@code clients} clients spread round-robin
 * over the connections, each with one request in flight, sending the next as soon as the previous
 * one completes, until {@code total} requests have been sent. Requests are numbered from a shared
 * counter, so exactly {@code total} are sent whatever the clients' speeds.
 *
 * <p>A client lives on its connection's event loop: it sends from there and its responses arrive
 * there (direct executor), so its fields need no locks.
 */
final class ClosedLoop {
  private final Connections conns;
  private final int clients;
  private final long total;
  private final Pacer pacer;

  private final AtomicLong tickets = new AtomicLong();
  private final Recorder latencies = new Recorder(3);
  private final Errors errors = new Errors();
  private final LongAccumulator lastDone = new LongAccumulator(Math::max, Long.MIN_VALUE);
  private CountDownLatch finished;

  ClosedLoop(Connections conns, int clients, long total, double rate) {
    this.conns = conns;
    this.clients = (int) Math.min(clients, total);
    this.total = total;
    this.pacer = rate > 0 ? new Pacer(rate) : null;
  }

  Result run(String name, Operation op) throws InterruptedException {
    Operation.Sender[] senders = new Operation.Sender[conns.size()];
    for (int i = 0; i < senders.length; i++) {
      senders[i] = op.bind(conns.get(i).channel());
    }
    finished = new CountDownLatch(clients);
    long start = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      int conn = c % conns.size();
      Client client = new Client(conns.get(conn), senders[conn]);
      conns.get(conn).loop().execute(client::next);
    }
    finished.await();
    long elapsed = lastDone.get() - start;
    return new Result(
        name, total, latencies.getIntervalHistogram(), errors.snapshot(), Math.max(0, elapsed));
  }

  /** One client: confined to its connection's event loop. */
  private final class Client implements Operation.Done {
    private final Connections.Conn conn;
    private final Operation.Sender sender;
    private long sentAt;
    private int depth; // completions handled inline, to bound recursion on synchronous failures

    Client(Connections.Conn conn, Operation.Sender sender) {
      this.conn = conn;
      this.sender = sender;
    }

    void next() {
      long seq = tickets.getAndIncrement();
      if (seq >= total) {
        lastDone.accumulate(System.nanoTime());
        finished.countDown();
        return;
      }
      long wait = pacer == null ? 0 : pacer.reserve();
      if (wait > 0) {
        conn.loop().schedule(() -> send(seq), wait, TimeUnit.NANOSECONDS);
      } else {
        send(seq);
      }
    }

    private void send(long seq) {
      sentAt = System.nanoTime();
      sender.send(seq, this);
    }

    @Override
    public void ok() {
      latencies.recordValue(System.nanoTime() - sentAt);
      continueLoop();
    }

    @Override
    public void failed(Throwable error) {
      errors.add(error);
      continueLoop();
    }

    private void continueLoop() {
      if (depth > 32) {
        conn.loop().execute(this::next);
        return;
      }
      depth++;
      try {
        next();
      } finally {
        depth--;
      }
    }
  }
}
