package io.etch.jepsen.checker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates histories that are linearizable by construction: concurrent processes run operations
 * against one true register per key; each operation takes effect at a random instant between its
 * invocation and completion. Some operations end with an unknown outcome (whether or not they took
 * effect), some fail before taking effect.
 */
final class RegisterSimulator {
  private final Random random;
  private final int processes;
  private final List<String> keys;
  private final double infoRate;

  RegisterSimulator(long seed, int processes, List<String> keys, double infoRate) {
    this.random = new Random(seed);
    this.processes = processes;
    this.keys = keys;
    this.infoRate = infoRate;
  }

  private static final class Pending {
    Op op; // as invoked
    boolean applied;
    String read;
    boolean succeeded;
  }

  List<Op> run(int totalOps) {
    Map<String, String> register = new HashMap<>();
    Map<String, List<String>> written = new HashMap<>();
    Pending[] pending = new Pending[processes];
    List<Op> history = new ArrayList<>();
    long time = 0;
    long nextId = 0;
    int seq = 0;
    int invoked = 0;
    while (invoked < totalOps || anyPending(pending)) {
      time += 1 + random.nextInt(3);
      int p = random.nextInt(processes);
      Pending cur = pending[p];
      if (cur == null) {
        if (invoked >= totalOps) {
          continue;
        }
        invoked++;
        String key = keys.get(random.nextInt(keys.size()));
        String value = "p" + p + "-" + seq++;
        List<String> prior = written.getOrDefault(key, List.of());
        Op.Type type = Op.Type.values()[random.nextInt(4)];
        String expected =
            type == Op.Type.CAS && !prior.isEmpty()
                ? prior.get(prior.size() - 1 - random.nextInt(Math.min(2, prior.size())))
                : "none";
        if (type == Op.Type.CAS || type == Op.Type.PUT) {
          written.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        }
        Pending np = new Pending();
        np.op =
            new Op(
                nextId++,
                p,
                type,
                key,
                type == Op.Type.PUT || type == Op.Type.CAS ? value : null,
                type == Op.Type.CAS ? expected : null,
                Op.Outcome.OK,
                null,
                false,
                0,
                time,
                time);
        pending[p] = np;
      } else if (!cur.applied && random.nextInt(3) > 0) {
        Op op = cur.op;
        String now = register.get(op.key());
        switch (op.type()) {
          case PUT -> register.put(op.key(), op.value());
          case GET -> cur.read = now;
          case DELETE -> {
            cur.succeeded = now != null;
            register.remove(op.key());
          }
          case CAS -> {
            cur.succeeded = now != null && now.equals(op.expected());
            if (cur.succeeded) {
              register.put(op.key(), op.value());
            }
          }
        }
        cur.applied = true;
      } else if (cur.applied || random.nextInt(4) == 0) {
        Op op = cur.op;
        pending[p] = null;
        if (random.nextDouble() < infoRate && op.type() != Op.Type.GET) {
          history.add(op.asInfo()); // applied or not, the client does not know
        } else if (!cur.applied) {
          history.add(op.asFail());
        } else {
          history.add(
              new Op(
                  op.id(),
                  op.process(),
                  op.type(),
                  op.key(),
                  op.value(),
                  op.expected(),
                  Op.Outcome.OK,
                  cur.read,
                  cur.succeeded,
                  0,
                  op.invokeNanos(),
                  time));
        }
      }
    }
    return history;
  }

  private static boolean anyPending(Pending[] pending) {
    for (Pending p : pending) {
      if (p != null) {
        return true;
      }
    }
    return false;
  }
}
