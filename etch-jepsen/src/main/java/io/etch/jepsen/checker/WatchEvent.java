package io.etch.jepsen.checker;

/**
 * One watch event as a client received it: the revision of the write, the key, whether it put or
 * deleted the key, and the value put (null for a delete).
 */
public record WatchEvent(long revision, String key, Kind kind, String value) {
  public enum Kind {
    PUT,
    DELETE
  }

  public static WatchEvent put(long revision, String key, String value) {
    return new WatchEvent(revision, key, Kind.PUT, value);
  }

  public static WatchEvent delete(long revision, String key) {
    return new WatchEvent(revision, key, Kind.DELETE, null);
  }

  @Override
  public String toString() {
    return revision + " " + kind + " " + key + (kind == Kind.PUT ? "=" + value : "");
  }
}
