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

  /** Reads the form {@link #toString} writes: {@code 7 PUT key=value} or {@code 8 DELETE key}. */
  public static WatchEvent parse(String line) {
    String[] f = line.split(" ", 3);
    long rev = Long.parseLong(f[0]);
    Kind kind = Kind.valueOf(f[1]);
    if (kind == Kind.DELETE) {
      return delete(rev, f[2]);
    }
    int eq = f[2].indexOf('=');
    return put(rev, f[2].substring(0, eq), f[2].substring(eq + 1));
  }

  @Override
  public String toString() {
    return revision + " " + kind + " " + key + (kind == Kind.PUT ? "=" + value : "");
  }
}
