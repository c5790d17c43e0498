package io.etch.server.auth;

import io.etch.api.authpb.Permission;
import io.etch.api.authpb.Role;
import io.etch.api.authpb.User;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * One user's key permissions merged over all its roles (etcd's {@code unifiedRangePermissions}):
 * the READ and the WRITE key space each as sorted, disjoint intervals {@code [start, end)}, where a
 * null end is unbounded. A request range is permitted when one interval covers it whole, so a
 * permission split across roles still counts, as in etcd's interval tree. Immutable.
 */
final class Permissions {
  private static final byte[][] NONE = new byte[0][];

  private final List<byte[][]> read;
  private final List<byte[][]> write;

  private Permissions(List<byte[][]> read, List<byte[][]> write) {
    this.read = read;
    this.write = write;
  }

  static Permissions of(User user, Map<String, Role> roles) {
    List<byte[][]> read = new ArrayList<>();
    List<byte[][]> write = new ArrayList<>();
    for (String roleName : user.getRolesList()) {
      Role role = roles.get(roleName);
      if (role == null) {
        continue;
      }
      for (Permission p : role.getKeyPermissionList()) {
        byte[][] ivl = interval(p.getKey().toByteArray(), p.getRangeEnd().toByteArray());
        if (ivl == NONE) {
          continue;
        }
        switch (p.getPermType()) {
          case READ -> read.add(ivl);
          case WRITE -> write.add(ivl);
          case READWRITE -> {
            read.add(ivl);
            write.add(ivl);
          }
          default -> {
            // an unknown type grants nothing
          }
        }
      }
    }
    return new Permissions(merge(read), merge(write));
  }

  /** Whether {@code [key, rangeEnd)} (etcd's range conventions) lies in the permitted space. */
  boolean permits(byte[] key, byte[] rangeEnd, boolean forWrite) {
    byte[][] q = interval(key, rangeEnd);
    if (q == NONE) {
      // An inverted range selects nothing; etcd still requires its start key.
      q = interval(key, new byte[0]);
    }
    List<byte[][]> ivls = forWrite ? write : read;
    // The last interval starting at or before the query's start is the only one that can cover it.
    int lo = 0;
    int hi = ivls.size() - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (Arrays.compareUnsigned(ivls.get(mid)[0], q[0]) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) {
      return false;
    }
    byte[] end = ivls.get(found)[1];
    if (end == null) {
      return true;
    }
    return q[1] != null && Arrays.compareUnsigned(q[1], end) <= 0;
  }

  /**
   * {@code [key, rangeEnd)} as an interval: an empty range end is the single key ({@code [key,
   * key\0)}), {@code "\0"} is every key from {@code key} on (null end). NONE when empty.
   */
  private static byte[][] interval(byte[] key, byte[] rangeEnd) {
    if (rangeEnd.length == 0) {
      byte[] next = Arrays.copyOf(key, key.length + 1);
      return new byte[][] {key, next};
    }
    if (rangeEnd.length == 1 && rangeEnd[0] == 0) {
      return new byte[][] {key, null};
    }
    if (Arrays.compareUnsigned(key, rangeEnd) >= 0) {
      return NONE;
    }
    return new byte[][] {key, rangeEnd};
  }

  private static List<byte[][]> merge(List<byte[][]> ivls) {
    ivls.sort(Comparator.comparing((byte[][] i) -> i[0], Arrays::compareUnsigned));
    List<byte[][]> out = new ArrayList<>();
    for (byte[][] i : ivls) {
      if (!out.isEmpty()) {
        byte[][] last = out.get(out.size() - 1);
        if (last[1] == null || Arrays.compareUnsigned(i[0], last[1]) <= 0) {
          // Overlapping or adjacent: extend the last one.
          if (last[1] != null && (i[1] == null || Arrays.compareUnsigned(i[1], last[1]) > 0)) {
            out.set(out.size() - 1, new byte[][] {last[0], i[1]});
          }
          continue;
        }
      }
      out.add(i);
    }
    return List.copyOf(out);
  }
}
