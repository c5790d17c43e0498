package io.etch.server;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Futures of proposals made by this member, keyed by request id: the apply thread triggers each
 * with its result once the entry is applied (entries proposed elsewhere have no waiter here).
 */
public final class Wait {
  private final ConcurrentHashMap<Long, CompletableFuture<Object>> waiting =
      new ConcurrentHashMap<>();

  public CompletableFuture<Object> register(long id) {
    CompletableFuture<Object> f = new CompletableFuture<>();
    if (waiting.putIfAbsent(id, f) != null) {
      throw new IllegalStateException("duplicate request id " + id);
    }
    return f;
  }

  public void trigger(long id, Object result) {
    CompletableFuture<Object> f = waiting.remove(id);
    if (f != null) {
      if (result instanceof Throwable t) {
        f.completeExceptionally(t);
      } else {
        f.complete(result);
      }
    }
  }

  public void cancel(long id) {
    waiting.remove(id);
  }

  public void failAll(Throwable t) {
    for (Long id : waiting.keySet()) {
      CompletableFuture<Object> f = waiting.remove(id);
      if (f != null) {
        f.completeExceptionally(t);
      }
    }
  }
}
