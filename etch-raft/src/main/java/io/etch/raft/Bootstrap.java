package io.etch.raft;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a brand-new cluster member persists before starting raft: its initial configuration, both as
 * the configuration of the (empty) snapshot at index 0 and as committed ADD_NODE entries 1..n. The
 * entries let a member that joins later learn the initial voters by replaying the log (as etcd
 * bootstraps); applying them again on the founding members changes nothing.
 */
public final class Bootstrap {
  private Bootstrap() {}

  public static ConfState confState(Collection<Long> voters) {
    return new ConfState(new TreeSet<>(voters), Set.of(), Set.of(), Set.of(), false);
  }

  /** ADD_NODE entries at term 1, indexes 1..n, in ascending id order. */
  public static List<Entry> entries(Collection<Long> voters) {
    List<Entry> out = new ArrayList<>();
    long index = 1;
    for (long id : new TreeSet<>(voters)) {
      ConfChange cc = ConfChange.single(ConfChangeType.ADD_NODE, id);
      out.add(new Entry(1, index++, EntryType.CONF_CHANGE, cc.encode()));
    }
    return out;
  }

  /** Term 1, no vote, every bootstrap entry committed. */
  public static HardState hardState(Collection<Long> voters) {
    return new HardState(1, 0, new TreeSet<>(voters).size());
  }
}
