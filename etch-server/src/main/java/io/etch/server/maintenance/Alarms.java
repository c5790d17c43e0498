package io.etch.server.maintenance;

import io.etch.api.etcdserverpb.AlarmMember;
import io.etch.api.etcdserverpb.AlarmRequest;
import io.etch.api.etcdserverpb.AlarmResponse;
import io.etch.api.etcdserverpb.AlarmType;
import io.etch.storage.mvcc.ApplyBatch;
import io.etch.storage.mvcc.MvccStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * etcd's alarm store: the alarms raised, by member and type, changed only by applying an
 * AlarmRequest (so every member holds the same set) and persisted in the store with the batch that
 * applied it, hence kept across restarts. Written by the apply thread; read by any thread through
 * one volatile immutable list.
 *
 * <p>While NOSPACE is raised, apply refuses writes that add data (etcd's capped applier); while
 * CORRUPT is raised, it refuses every request (etcd's corrupt applier).
 */
public final class Alarms {
  private final MvccStore store;
  private volatile List<AlarmMember> active;

  public Alarms(MvccStore store) {
    this.store = store;
    reload();
  }

  /** Re-reads the alarms from the store (at start and after a snapshot is installed). */
  public void reload() {
    List<AlarmMember> out = new ArrayList<>();
    for (long[] a : store.alarms()) {
      out.add(member(a[0], AlarmType.forNumber((int) a[1])));
    }
    active = List.copyOf(out);
  }

  public List<AlarmMember> list() {
    return active;
  }

  public boolean raised(AlarmType type) {
    for (AlarmMember m : active) {
      if (m.getAlarm() == type) {
        return true;
      }
    }
    return false;
  }

  /** Applies an AlarmRequest as etcd's applier does; apply thread only. */
  public AlarmResponse apply(ApplyBatch b, AlarmRequest r) {
    AlarmResponse.Builder resp = AlarmResponse.newBuilder();
    switch (r.getAction()) {
      case GET -> resp.addAllAlarms(active);
      case ACTIVATE -> {
        if (r.getAlarm() == AlarmType.NONE) {
          break;
        }
        AlarmMember m = member(r.getMemberID(), r.getAlarm());
        if (!active.contains(m)) {
          b.putAlarm(m.getMemberID(), m.getAlarmValue());
          List<AlarmMember> next = new ArrayList<>(active);
          next.add(m);
          next.sort(ORDER);
          active = List.copyOf(next);
          resp.addAlarms(m);
        }
      }
      case DEACTIVATE -> {
        AlarmMember m = member(r.getMemberID(), r.getAlarm());
        if (active.contains(m)) {
          b.deleteAlarm(m.getMemberID(), m.getAlarmValue());
          List<AlarmMember> next = new ArrayList<>(active);
          next.remove(m);
          active = List.copyOf(next);
          resp.addAlarms(m);
        }
      }
      default -> {
        // an action this version does not know: changes nothing, as etcd
      }
    }
    return resp.build();
  }

  private static final Comparator<AlarmMember> ORDER =
      Comparator.comparing((AlarmMember m) -> m.getMemberID(), Long::compareUnsigned)
          .thenComparing(AlarmMember::getAlarmValue);

  private static AlarmMember member(long id, AlarmType type) {
    return AlarmMember.newBuilder()
        .setMemberID(id)
        .setAlarm(type == null ? AlarmType.NONE : type)
        .build();
  }
}
