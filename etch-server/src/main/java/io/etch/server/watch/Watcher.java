package io.etch.server.watch;

import io.etch.storage.mvcc.Event;

/**
 * One watch of a stream: what it covers and how its events are shaped (immutable), and where it
 * stands in the hub (mutable, confined to the hub thread).
 *
 * <p>Position: a SYNCED watcher has been given every matching event up to the hub's revision and
 * gets later ones as they are applied (events below {@code startRevision} are skipped: a watch may
 * start in the future). An UNSYNCED watcher must next be given the events from {@code
 * nextRevision}; it is caught up from the store. A COMPACTED watcher was told its revision is gone
 * and gets nothing more, but keeps its id on the stream until the client cancels it, as in etcd.
 */
final class Watcher {
  enum State {
    SYNCED,
    UNSYNCED,
    COMPACTED
  }

  private final long id;
  private final WatchStream stream;
  private final KeyRange range;
  private final long startRevision;
  private final boolean prevKv;
  private final boolean noPut;
  private final boolean noDelete;
  private final boolean fragment;
  private final boolean progressNotify;

  // Hub thread only.
  State state;
  long nextRevision;

  /** etcd's per-watch progress flag: set at each tick, cleared when events are sent. */
  boolean progressDue = true;

  Watcher(
      long id,
      WatchStream stream,
      KeyRange range,
      long startRevision,
      boolean prevKv,
      boolean noPut,
      boolean noDelete,
      boolean fragment,
      boolean progressNotify) {
    this.id = id;
    this.stream = stream;
    this.range = range;
    this.startRevision = startRevision;
    this.prevKv = prevKv;
    this.noPut = noPut;
    this.noDelete = noDelete;
    this.fragment = fragment;
    this.progressNotify = progressNotify;
  }

  long id() {
    return id;
  }

  WatchStream stream() {
    return stream;
  }

  KeyRange range() {
    return range;
  }

  long startRevision() {
    return startRevision;
  }

  boolean prevKv() {
    return prevKv;
  }

  boolean fragment() {
    return fragment;
  }

  boolean progressNotify() {
    return progressNotify;
  }

  /** Whether {@code e} is for this watch: in its range and not filtered out (NOPUT, NODELETE). */
  boolean accepts(Event e) {
    if (e.type() == Event.EventType.PUT ? noPut : noDelete) {
      return false;
    }
    return range.contains(e.kv().key());
  }
}
