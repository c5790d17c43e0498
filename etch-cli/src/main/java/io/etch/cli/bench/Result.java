package io.etch.cli.bench;

import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one measured phase produced: latencies of the successful requests (nanoseconds), failures by
 * status, and the wall time from the first send to the last completion.
 *
 * @param name what was measured, e.g. {@code put} or {@code watch events}
 * @param attempted requests sent (or events expected)
 * @param latencyNanos latency of each success; its count is the number of successes
 */
record Result(
    String name,
    long attempted,
    Histogram latencyNanos,
    Map<String, Long> errors,
    long elapsedNanos) {

  long succeeded() {
    return latencyNanos.getTotalCount();
  }

  long failed() {
    return errors.values().stream().mapToLong(Long::longValue).sum();
  }

  double seconds() {
    return elapsedNanos / 1e9;
  }

  /** Successful requests per second of wall time (etcd's Requests/sec). */
  double requestsPerSecond() {
    return elapsedNanos == 0 ? 0 : succeeded() / seconds();
  }
}
