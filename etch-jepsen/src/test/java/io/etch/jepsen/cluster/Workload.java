package io.etch.jepsen.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.options.PutOption;
import io.etch.jepsen.checker.Op;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Concurrent clients doing puts, linearizable gets, CAS txns and deletes on a small key space, each
 * recording every operation's invocation, completion and outcome. Values are unique per write
 * ({@code w<process>-<seq>}), so a read or a watch event names the write it came from.
 */
final class Workload {
  static final String PREFIX = "j/";

  static ByteSequence b(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  static String s(ByteSequence b) {
    return b.toString(UTF_8);
  }

  static Client client(String endpoint) {
    // No client retries: a retried write could apply twice, and the history must show what the
    // client actually sent. No waiting for a connection: a dead member fails fast.
    return Client.builder()
        .endpoints(endpoint)
        .retryMaxAttempts(0)
        .waitForReady(false)
        .connectTimeout(Duration.ofSeconds(1))
        .build();
  }

  final List<String> keys;
  final Duration opTimeout;
  final AtomicLong ids = new AtomicLong();
  final List<Op> history = new ArrayList<>(); // guarded by itself
  final Map<String, AtomicLong> errors = new ConcurrentHashMap<>();
  final Map<String, String> lastValue = new ConcurrentHashMap<>(); // per key, a recent value

  Workload(int keyCount, Duration opTimeout) {
    List<String> k = new ArrayList<>();
    for (int i = 0; i < keyCount; i++) {
      k.add(PREFIX + "k" + i);
    }
    this.keys = List.copyOf(k);
    this.opTimeout = opTimeout;
  }

  List<Op> history() {
    synchronized (history) {
      return List.copyOf(history);
    }
  }

  void record(Op op) {
    synchronized (history) {
      history.add(op);
    }
  }

  /** One client process: runs random operations until {@code until} (System.nanoTime()). */
  void runProcess(int process, String endpoint, long seed, long until) {
    SplittableRandom random = new SplittableRandom(seed);
    int seq = 0;
    try (Client client = client(endpoint)) {
      KV kv = client.getKVClient();
      while (System.nanoTime() < until && !Thread.currentThread().isInterrupted()) {
        String key = keys.get(random.nextInt(keys.size()));
        int dice = random.nextInt(100);
        String value = "w" + process + "-" + seq++;
        Op op;
        if (dice < 35) {
          op = get(kv, process, key);
        } else if (dice < 65) {
          op = put(kv, process, key, value);
        } else if (dice < 90) {
          String expected = lastValue.get(key);
          op =
              expected == null
                  ? put(kv, process, key, value)
                  : cas(kv, process, key, expected, value);
        } else {
          op = delete(kv, process, key);
        }
        if (op.outcome() != Op.Outcome.OK) {
          // Let a failing member breathe rather than spin on it.
          sleep(50);
        }
      }
    }
  }

  Op get(KV kv, int process, String key) {
    long id = ids.getAndIncrement();
    long t0 = System.nanoTime();
    Op invoked =
        new Op(id, process, Op.Type.GET, key, null, null, Op.Outcome.OK, null, false, 0, t0, t0);
    return complete(
        invoked,
        kv.get(b(key)),
        (GetResponse r, long t1) -> {
          String read = r.getKvs().isEmpty() ? null : s(r.getKvs().get(0).getValue());
          if (read != null) {
            lastValue.put(key, read);
          }
          return new Op(
              id,
              process,
              Op.Type.GET,
              key,
              null,
              null,
              Op.Outcome.OK,
              read,
              false,
              r.getHeader().getRevision(),
              t0,
              t1);
        });
  }

  Op put(KV kv, int process, String key, String value) {
    long id = ids.getAndIncrement();
    long t0 = System.nanoTime();
    Op invoked =
        new Op(id, process, Op.Type.PUT, key, value, null, Op.Outcome.OK, null, false, 0, t0, t0);
    return complete(
        invoked,
        kv.put(b(key), b(value)),
        (PutResponse r, long t1) -> {
          lastValue.put(key, value);
          return new Op(
              id,
              process,
              Op.Type.PUT,
              key,
              value,
              null,
              Op.Outcome.OK,
              null,
              false,
              r.getHeader().getRevision(),
              t0,
              t1);
        });
  }

  Op delete(KV kv, int process, String key) {
    long id = ids.getAndIncrement();
    long t0 = System.nanoTime();
    Op invoked =
        new Op(id, process, Op.Type.DELETE, key, null, null, Op.Outcome.OK, null, false, 0, t0, t0);
    return complete(
        invoked,
        kv.delete(b(key)),
        (DeleteResponse r, long t1) ->
            new Op(
                id,
                process,
                Op.Type.DELETE,
                key,
                null,
                null,
                Op.Outcome.OK,
                null,
                r.getDeleted() > 0,
                r.getHeader().getRevision(),
                t0,
                t1));
  }

  Op cas(KV kv, int process, String key, String expected, String value) {
    long id = ids.getAndIncrement();
    long t0 = System.nanoTime();
    Op invoked =
        new Op(
            id, process, Op.Type.CAS, key, value, expected, Op.Outcome.OK, null, false, 0, t0, t0);
    CompletableFuture<TxnResponse> f =
        kv.txn()
            .If(new Cmp(b(key), Cmp.Op.EQUAL, CmpTarget.value(b(expected))))
            .Then(io.etcd.jetcd.op.Op.put(b(key), b(value), PutOption.DEFAULT))
            .commit();
    return complete(
        invoked,
        f,
        (TxnResponse r, long t1) -> {
          if (r.isSucceeded()) {
            lastValue.put(key, value);
          }
          return new Op(
              id,
              process,
              Op.Type.CAS,
              key,
              value,
              expected,
              Op.Outcome.OK,
              null,
              r.isSucceeded(),
              r.getHeader().getRevision(),
              t0,
              t1);
        });
  }

  interface Completion<R> {
    Op ok(R response, long completeNanos);
  }

  private <R> Op complete(Op invoked, CompletableFuture<R> f, Completion<R> ok) {
    Op op;
    try {
      R r = f.get(opTimeout.toMillis(), TimeUnit.MILLISECONDS);
      op = ok.ok(r, System.nanoTime());
    } catch (TimeoutException e) {
      f.cancel(true);
      tally("client timeout " + opTimeout.toMillis() + "ms");
      op = failed(invoked, false);
    } catch (ExecutionException e) {
      tally(EtcdErrors.label(e.getCause()));
      op = failed(invoked, EtcdErrors.definitelyNotExecuted(e.getCause()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      f.cancel(true);
      op = failed(invoked, false);
    } catch (RuntimeException e) {
      // Anything unexpected (a cancelled future, a client bug): the write may still have happened.
      tally(EtcdErrors.label(e));
      op = failed(invoked, false);
    }
    record(op);
    return op;
  }

  /** A read that failed changed nothing; a write fails for sure only when etcd says so. */
  private static Op failed(Op invoked, boolean definitely) {
    Op done =
        new Op(
            invoked.id(),
            invoked.process(),
            invoked.type(),
            invoked.key(),
            invoked.value(),
            invoked.expected(),
            Op.Outcome.OK,
            null,
            false,
            0,
            invoked.invokeNanos(),
            System.nanoTime());
    return definitely || invoked.type() == Op.Type.GET ? done.asFail() : done.asInfo();
  }

  private void tally(String label) {
    errors.computeIfAbsent(label, k -> new AtomicLong()).incrementAndGet();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
