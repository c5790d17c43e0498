package io.etch.cli.bench;

import io.grpc.Status;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Failed requests counted by gRPC status code and description. Thread-safe. */
final class Errors {
  private final ConcurrentHashMap<String, LongAdder> counts = new ConcurrentHashMap<>();

  void add(Throwable t) {
    Status s = Status.fromThrowable(t);
    String key = s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    add(key, 1);
  }

  void add(String key, long n) {
    counts.computeIfAbsent(key, k -> new LongAdder()).add(n);
  }

  /** The counts so far, sorted by key. */
  Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    counts.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }
}
