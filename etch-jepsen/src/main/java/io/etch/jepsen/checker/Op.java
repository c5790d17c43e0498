package io.etch.jepsen.checker;

import java.util.Objects;

/**
 * One client operation on one key as the client saw it: when it was invoked, when it completed, and
 * what came back. Values are strings; {@code null} means the key is absent.
 *
 * <p>Outcomes follow Jepsen: {@link Outcome#OK} happened with the recorded result; {@link
 * Outcome#FAIL} definitely did not happen (the checker ignores it); {@link Outcome#INFO} may or may
 * not have happened (timeout, lost connection) and stays open-ended: its completion is {@link
 * #NEVER}, so it is concurrent with everything after its invocation and may be linearized or
 * omitted.
 *
 * @param id unique within a history
 * @param process the client (thread) that issued it
 * @param type what it does
 * @param key the key it touches
 * @param value put: the value written; cas: the new value; otherwise null
 * @param expected cas: the value compared against; otherwise null
 * @param outcome OK, FAIL or INFO
 * @param read get (OK): the value read, null if absent
 * @param succeeded cas (OK): whether the compare held; delete (OK): whether a key was deleted
 * @param revision the revision of the response header when OK, else 0 (used by the watch checker)
 * @param invokeNanos monotonic time at invocation
 * @param completeNanos monotonic time at completion, {@link #NEVER} for INFO
 */
public record Op(
    long id,
    int process,
    Type type,
    String key,
    String value,
    String expected,
    Outcome outcome,
    String read,
    boolean succeeded,
    long revision,
    long invokeNanos,
    long completeNanos) {

  /** The completion time of an operation whose outcome is unknown. */
  public static final long NEVER = Long.MAX_VALUE;

  public enum Type {
    PUT,
    GET,
    DELETE,
    CAS
  }

  public enum Outcome {
    OK,
    FAIL,
    INFO
  }

  public Op {
    Objects.requireNonNull(type);
    Objects.requireNonNull(key);
    Objects.requireNonNull(outcome);
    if (outcome == Outcome.INFO) {
      completeNanos = NEVER;
    }
    if (completeNanos < invokeNanos) {
      throw new IllegalArgumentException("op " + id + " completes before it is invoked");
    }
  }

  public static Op put(long id, int process, String key, String value, long t0, long t1) {
    return new Op(id, process, Type.PUT, key, value, null, Outcome.OK, null, false, 0, t0, t1);
  }

  public static Op get(long id, int process, String key, String read, long t0, long t1) {
    return new Op(id, process, Type.GET, key, null, null, Outcome.OK, read, false, 0, t0, t1);
  }

  public static Op delete(long id, int process, String key, boolean deleted, long t0, long t1) {
    return new Op(id, process, Type.DELETE, key, null, null, Outcome.OK, null, deleted, 0, t0, t1);
  }

  public static Op cas(
      long id,
      int process,
      String key,
      String expected,
      String value,
      boolean ok,
      long t0,
      long t1) {
    return new Op(id, process, Type.CAS, key, value, expected, Outcome.OK, null, ok, 0, t0, t1);
  }

  /** The same operation with an unknown outcome (it may or may not have taken effect). */
  public Op asInfo() {
    return new Op(
        id, process, type, key, value, expected, Outcome.INFO, null, false, 0, invokeNanos, NEVER);
  }

  /** The same operation, definitely not executed. */
  public Op asFail() {
    return new Op(
        id,
        process,
        type,
        key,
        value,
        expected,
        Outcome.FAIL,
        null,
        false,
        0,
        invokeNanos,
        completeNanos);
  }

  public Op withRevision(long rev) {
    return new Op(
        id,
        process,
        type,
        key,
        value,
        expected,
        outcome,
        read,
        succeeded,
        rev,
        invokeNanos,
        completeNanos);
  }

  /** Whether this operation may change the key's value (if it happened). */
  public boolean isWrite() {
    return type != Type.GET;
  }

  @Override
  public String toString() {
    return History.format(this);
  }
}
