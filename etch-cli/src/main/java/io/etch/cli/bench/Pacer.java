package io.etch.cli.bench;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Spaces request starts over all clients to at most {@code rate} per second (etcd's {@code
 * --rate}). Each start takes the next free slot; a slot in the past is moved to now, so a slow
 * moment is not followed by a catch-up burst. Thread-safe.
 */
final class Pacer {
  private final long intervalNanos;
  private final AtomicLong next;

  Pacer(double perSecond) {
    this.intervalNanos = Math.max(1, (long) (1e9 / perSecond));
    this.next = new AtomicLong(System.nanoTime());
  }

  /** Takes a slot; returns how long to wait for it (0 if it is due). */
  long reserve() {
    long now = System.nanoTime();
    while (true) {
      long prev = next.get();
      long slot = Math.max(prev, now);
      if (next.compareAndSet(prev, slot + intervalNanos)) {
        return slot - now;
      }
    }
  }
}
