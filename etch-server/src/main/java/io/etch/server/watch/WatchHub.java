package io.etch.server.watch;

import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.server.EtcdStatus;
import io.etch.server.kv.KvMapper;
import io.etch.storage.mvcc.EtcdException;
import io.etch.storage.mvcc.Event;
import io.etch.storage.mvcc.EventPage;
import io.etch.storage.mvcc.MvccStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans applied events out to watchers (etcd's watchable store, reshaped around one thread).
 *
 * <p><b>Threads.</b> One hub thread owns every watcher, stream and group below. Other threads only
 * enqueue work into {@link #inbox} and unpark it: the apply thread's {@link #publish} is a
 * lock-free enqueue, so a slow watcher can never block writes; gRPC threads enqueue requests and
 * wake-ups. Because batches and requests share one FIFO inbox, a watch created after a write's
 * response was sent is created after that write's batch was fanned out: it starts after it.
 *
 * <p><b>Revision.</b> {@link #revision} is the last revision whose events the hub has fanned out.
 * The store is always at or past it (the apply thread commits, then publishes). Responses carry it
 * in their header, so a progress notification at R really means every event up to R was sent.
 *
 * <p><b>Synced / unsynced.</b> A synced watcher has been sent every matching event up to {@link
 * #revision}; it lives in {@link #synced}, indexed by key, and each batch goes straight to the
 * watchers that match (cost: the matching watchers). An unsynced watcher (started in the past, or
 * moved aside because its stream's gRPC buffer was full: a <i>victim</i>) has a next revision to
 * send from; between inbox messages the hub reads one page of history from the store, from the
 * lowest next revision of the unsynced watchers whose streams are ready, up to {@link #revision}
 * (never past it: later events arrive as batches). A watcher that reaches {@link #revision} moves
 * to {@link #synced} in the same thread step, so nothing falls between the page and the next batch
 * (no gap) and nothing is sent twice (no duplicate). A victim's stream not being ready leaves it
 * out of reads until gRPC calls the stream's on-ready handler, which wakes the hub.
 *
 * <p><b>Responses.</b> Events go out in revision order; one response holds whole revisions only, up
 * to {@code maxResponseBytes}; a single revision larger than that goes alone, split into fragments
 * only for watches that asked for {@code fragment} (etcd's sendFragments).
 */
public final class WatchHub implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WatchHub.class);

  /** Events read from the store per catch-up step (whole revisions; a revision is never split). */
  static final int PAGE_EVENTS = 1000;

  /** Sync steps (store pages) between inbox drains, and inbox messages handled per drain. */
  private static final int DRAIN_LIMIT = 4096;

  private final MvccStore store;
  private final LongFunction<ResponseHeader> header;
  private final long progressIntervalNanos;
  private final int maxResponseBytes;
  private final LongSupplier nanoClock;
  private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
  private final Thread thread;
  private volatile boolean stopped;

  // ---- hub thread only
  private long revision;
  private final WatcherGroup synced = new WatcherGroup();
  private final Set<Watcher> unsynced = new LinkedHashSet<>();
  private final Set<WatchStream> streams = new LinkedHashSet<>();
  private final Set<Watcher> progressWatchers = new LinkedHashSet<>();
  private final Set<WatchStream> progressRequested = new LinkedHashSet<>();
  private long nextTick;

  // ---- counters, any thread (tests and metrics)
  private final AtomicLong victims = new AtomicLong();
  private volatile int unsyncedCount;

  /**
   * @param store history for unsynced watchers; its current revision is where the hub starts, so
   *     create the hub before anything is applied and publish every later batch
   * @param header etcd's response header for a revision (cluster_id, member_id, raft_term)
   * @param progressInterval how often watches with progress_notify hear the revision when idle
   *     (etcd's default: 10 minutes)
   * @param maxResponseBytes response size above which whole revisions go in separate responses and
   *     fragment-enabled watches split a revision (etcd: max request bytes plus 512 KiB)
   */
  public WatchHub(
      MvccStore store,
      LongFunction<ResponseHeader> header,
      Duration progressInterval,
      int maxResponseBytes,
      LongSupplier nanoClock) {
    this.store = store;
    this.header = header;
    this.progressIntervalNanos = progressInterval.toNanos();
    this.maxResponseBytes = maxResponseBytes;
    this.nanoClock = nanoClock;
    this.revision = store.currentRevision();
    this.nextTick = nanoClock.getAsLong() + progressIntervalNanos;
    this.thread = new Thread(this::run, "etch-watch-hub");
    thread.setDaemon(true);
    thread.start();
  }

  // ------------------------------------------------------------------ any thread

  /**
   * Hands over one applied batch's events, in revision order. Called by the apply thread after the
   * batch is committed; never blocks.
   */
  public void publish(List<Event> events) {
    if (!events.isEmpty()) {
      submit(() -> onBatch(events));
    }
  }

  /**
   * The store was replaced by a snapshot from the leader (its revision jumped): every synced
   * watcher is caught up from the new store's history, as etcd moves all watchers to unsynced on
   * restore; one whose next revision was compacted away is told so and canceled. Called by the
   * apply thread right after the restore, with the store's revision then.
   */
  public void restored(long restoredRevision) {
    submit(
        () -> {
          long next = revision + 1;
          for (Watcher w : synced.all()) {
            synced.remove(w);
            w.state = Watcher.State.UNSYNCED;
            w.nextRevision = Math.max(next, w.startRevision());
            unsynced.add(w);
          }
          revision = restoredRevision;
        });
  }

  void submit(Runnable r) {
    inbox.add(r);
    LockSupport.unpark(thread);
  }

  /** Wakes the hub (a stream became ready: its victims can be caught up). */
  void wake() {
    LockSupport.unpark(thread);
  }

  /** How many times a synced watcher was moved aside because its stream could not take more. */
  public long victimCount() {
    return victims.get();
  }

  /** Unsynced watchers (catching up or parked victims), as of the hub's last step. */
  public int unsyncedCount() {
    return unsyncedCount;
  }

  @Override
  public void close() {
    stopped = true;
    LockSupport.unpark(thread);
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ------------------------------------------------------------------ hub thread

  private void run() {
    while (!stopped) {
      try {
        int n = 0;
        Runnable r;
        while (n++ < DRAIN_LIMIT && (r = inbox.poll()) != null) {
          r.run();
        }
        boolean more = syncStep();
        long now = nanoClock.getAsLong();
        if (now - nextTick >= 0) {
          progressTick();
          nextTick = now + progressIntervalNanos;
        }
        unsyncedCount = unsynced.size();
        if (!more && inbox.isEmpty() && !stopped) {
          LockSupport.parkNanos(this, Math.max(1, nextTick - nanoClock.getAsLong()));
        }
      } catch (RuntimeException e) {
        // A bug must not silence every watch; log it and keep serving.
        log.error("watch hub step failed", e);
      }
    }
    for (WatchStream s : streams) {
      s.fail(EtcdStatus.STOPPED.exception());
    }
    streams.clear();
  }

  void open(WatchStream s) {
    streams.add(s);
  }

  /** The client went away: forget its stream and watchers. */
  void close(WatchStream s) {
    if (!streams.remove(s)) {
      return;
    }
    s.closed = true;
    for (Watcher w : s.watchers.values()) {
      detach(w);
    }
    s.watchers.clear();
    progressRequested.remove(s);
  }

  private void detach(Watcher w) {
    if (w.state == Watcher.State.SYNCED) {
      synced.remove(w);
    } else if (w.state == Watcher.State.UNSYNCED) {
      unsynced.remove(w);
    }
    progressWatchers.remove(w);
  }

  /** etcd's v3rpc create: answers created (or created and canceled with the reason). */
  void create(WatchStream s, WatchCreateRequest req) {
    if (s.closed) {
      return;
    }
    KeyRange range = KeyRange.of(req.getKey().toByteArray(), req.getRangeEnd().toByteArray());
    if (req.getStartRevision() < 0) {
      refuse(s, EtcdStatus.COMPACTED.message());
      return;
    }
    if (range.isEmpty()) {
      refuse(s, "mvcc: watcher range is empty");
      return;
    }
    long id = req.getWatchId();
    if (id == 0) { // etcd's AutoWatchID
      while (s.watchers.containsKey(s.nextId)) {
        s.nextId++;
      }
      id = s.nextId++;
    } else if (s.watchers.containsKey(id)) {
      refuse(s, "mvcc: duplicate watch ID provided on the WatchStream");
      return;
    }
    boolean noPut = false;
    boolean noDelete = false;
    for (WatchCreateRequest.FilterType f : req.getFiltersList()) {
      if (f == WatchCreateRequest.FilterType.NOPUT) {
        noPut = true;
      } else if (f == WatchCreateRequest.FilterType.NODELETE) {
        noDelete = true;
      }
    }
    long start = req.getStartRevision();
    Watcher w =
        new Watcher(
            id,
            s,
            range,
            start,
            req.getPrevKv(),
            noPut,
            noDelete,
            req.getFragment(),
            req.getProgressNotify());
    s.watchers.put(id, w);
    s.send(
        WatchResponse.newBuilder()
            .setHeader(header.apply(revision))
            .setWatchId(id)
            .setCreated(true)
            .build());
    if (w.progressNotify()) {
      progressWatchers.add(w);
    }
    if (start == 0 || start > revision) {
      // From now (or a future revision): nothing to read from history.
      w.state = Watcher.State.SYNCED;
      synced.add(w);
    } else {
      w.state = Watcher.State.UNSYNCED;
      w.nextRevision = start;
      unsynced.add(w);
    }
  }

  void refuse(WatchStream s, String reason) {
    s.send(
        WatchResponse.newBuilder()
            .setHeader(header.apply(revision))
            .setWatchId(-1)
            .setCreated(true)
            .setCanceled(true)
            .setCancelReason(reason)
            .build());
  }

  /** etcd's cancel: answered only for a watch id the stream has. */
  void cancel(WatchStream s, long id) {
    Watcher w = s.watchers.remove(id);
    if (w == null) {
      return;
    }
    detach(w);
    s.send(
        WatchResponse.newBuilder()
            .setHeader(header.apply(revision))
            .setWatchId(id)
            .setCanceled(true)
            .build());
    maybeSendRequestedProgress(s);
  }

  /**
   * A progress request: answered with watch id -1 and the hub's revision once every watcher of the
   * stream is synced and at or past its start (etcd's progressAll), so the revision is a true
   * bookmark. While some watcher is catching up the answer waits for it.
   */
  void requestProgress(WatchStream s) {
    progressRequested.add(s);
    maybeSendRequestedProgress(s);
  }

  private void maybeSendRequestedProgress(WatchStream s) {
    if (!progressRequested.contains(s)) {
      return;
    }
    for (Watcher w : s.watchers.values()) {
      if (!isProgressReady(w)) {
        return;
      }
    }
    progressRequested.remove(s);
    s.send(WatchResponse.newBuilder().setHeader(header.apply(revision)).setWatchId(-1).build());
  }

  private boolean isProgressReady(Watcher w) {
    return w.state == Watcher.State.SYNCED && w.startRevision() <= revision;
  }

  /** etcd's progress ticker: idle synced watches with progress_notify hear the revision. */
  private void progressTick() {
    for (Watcher w : progressWatchers) {
      if (w.progressDue && isProgressReady(w)) {
        w.stream()
            .send(
                WatchResponse.newBuilder()
                    .setHeader(header.apply(revision))
                    .setWatchId(w.id())
                    .build());
      }
      w.progressDue = true;
    }
  }

  /** One applied batch: to each matching synced watcher, then the hub is at its last revision. */
  private void onBatch(List<Event> events) {
    long last = events.get(events.size() - 1).revision();
    Map<Watcher, List<Event>> matched = new IdentityHashMap<>();
    List<Watcher> order = new ArrayList<>();
    for (Event e : events) {
      long rev = e.revision();
      synced.forEachMatching(
          e.kv().key(),
          w -> {
            if (rev >= w.startRevision() && w.accepts(e)) {
              List<Event> l = matched.get(w);
              if (l == null) {
                l = new ArrayList<>();
                matched.put(w, l);
                order.add(w);
              }
              l.add(e);
            }
          });
    }
    revision = last;
    EventProtos protos = new EventProtos();
    for (Watcher w : order) {
      List<Event> evs = matched.get(w);
      int sent = deliver(w, evs, protos);
      if (sent < evs.size()) {
        // Victim: its stream cannot take more. Park it; it resumes from the store when ready.
        synced.remove(w);
        w.state = Watcher.State.UNSYNCED;
        w.nextRevision = evs.get(sent).revision();
        unsynced.add(w);
        victims.incrementAndGet();
        log.debug("watch {} is slow; moved aside at revision {}", w.id(), w.nextRevision);
      }
    }
    // A watch that started in the future may have reached its start: pending requests recheck.
    if (!progressRequested.isEmpty()) {
      for (WatchStream s : List.copyOf(progressRequested)) {
        maybeSendRequestedProgress(s);
      }
    }
  }

  /**
   * One catch-up step: compacted watchers are told so and canceled; then one page of history is
   * read for the unsynced watchers whose streams can take it, and those that reach the hub's
   * revision become synced. Returns whether another step could make progress now.
   */
  private boolean syncStep() {
    if (unsynced.isEmpty()) {
      return false;
    }
    long compact = store.compactRevision();
    List<Watcher> ready = new ArrayList<>();
    long from = Long.MAX_VALUE;
    for (Iterator<Watcher> it = unsynced.iterator(); it.hasNext(); ) {
      Watcher w = it.next();
      if (w.nextRevision < compact) {
        it.remove();
        compacted(w, compact);
        continue;
      }
      if (w.nextRevision > revision) {
        it.remove();
        toSynced(w);
        continue;
      }
      if (w.stream().isReady()) {
        ready.add(w);
        from = Math.min(from, w.nextRevision);
      }
    }
    if (ready.isEmpty()) {
      return false;
    }
    EventPage page;
    try {
      page = store.events(from, revision, PAGE_EVENTS);
    } catch (EtcdException e) {
      return true; // compacted meanwhile: the next step tells the watchers below it
    }
    long next = page.nextRevision();
    List<Event> all = page.events();
    EventProtos protos = new EventProtos();
    for (Watcher w : ready) {
      if (w.nextRevision >= next) {
        continue; // the page ends before this watcher's position
      }
      List<Event> evs = new ArrayList<>();
      for (Event e : all) {
        if (e.revision() >= w.nextRevision && w.accepts(e)) {
          evs.add(e);
        }
      }
      int sent = deliver(w, evs, protos);
      w.nextRevision = sent < evs.size() ? evs.get(sent).revision() : next;
      if (w.nextRevision > revision) {
        unsynced.remove(w);
        toSynced(w);
      }
    }
    return true;
  }

  private void toSynced(Watcher w) {
    w.state = Watcher.State.SYNCED;
    synced.add(w);
    maybeSendRequestedProgress(w.stream());
  }

  /**
   * etcd's answer to a watch whose next revision was compacted: compact_revision set, canceled,
   * header revision 0 (etcd fills the header from a response that carries no revision). The id
   * stays taken on the stream until the client cancels it.
   */
  private void compacted(Watcher w, long compact) {
    w.state = Watcher.State.COMPACTED;
    progressWatchers.remove(w);
    w.stream()
        .send(
            WatchResponse.newBuilder()
                .setHeader(header.apply(0))
                .setWatchId(w.id())
                .setCompactRevision(compact)
                .setCanceled(true)
                .build());
    maybeSendRequestedProgress(w.stream());
  }

  /**
   * Sends {@code evs} (this watcher's events, in revision order) in responses of whole revisions,
   * while the stream is ready. Returns how many were sent: always a revision boundary.
   */
  private int deliver(Watcher w, List<Event> evs, EventProtos protos) {
    WatchStream s = w.stream();
    int i = 0;
    while (i < evs.size()) {
      if (!s.isReady()) {
        return i;
      }
      List<io.etch.api.mvccpb.Event> batch = new ArrayList<>();
      long bytes = 0;
      int j = i;
      while (j < evs.size()) {
        long rev = evs.get(j).revision();
        int end = j;
        long groupBytes = 0;
        while (end < evs.size() && evs.get(end).revision() == rev) {
          groupBytes += protos.get(evs.get(end), w.prevKv()).getSerializedSize() + 4;
          end++;
        }
        if (j > i && bytes + groupBytes > maxResponseBytes) {
          break;
        }
        for (int k = j; k < end; k++) {
          batch.add(protos.get(evs.get(k), w.prevKv()));
        }
        bytes += groupBytes;
        j = end;
      }
      ResponseHeader h = header.apply(revision);
      if (w.fragment() && bytes > maxResponseBytes && batch.size() > 1) {
        sendFragments(w, h, batch);
      } else {
        s.send(
            WatchResponse.newBuilder().setHeader(h).setWatchId(w.id()).addAllEvents(batch).build());
      }
      w.progressDue = false;
      i = j;
    }
    return i;
  }

  /** etcd's sendFragments: pieces under the limit (at least one event), all but the last marked. */
  private void sendFragments(Watcher w, ResponseHeader h, List<io.etch.api.mvccpb.Event> evs) {
    int i = 0;
    while (i < evs.size()) {
      int j = i;
      long bytes = 0;
      while (j < evs.size()) {
        long b = evs.get(j).getSerializedSize() + 4;
        if (j > i && bytes + b > maxResponseBytes) {
          break;
        }
        bytes += b;
        j++;
      }
      w.stream()
          .send(
              WatchResponse.newBuilder()
                  .setHeader(h)
                  .setWatchId(w.id())
                  .setFragment(j < evs.size())
                  .addAllEvents(evs.subList(i, j))
                  .build());
      i = j;
    }
  }

  /** Wire forms of the events of one batch or page, built once however many watchers share them. */
  private static final class EventProtos {
    private final Map<Event, io.etch.api.mvccpb.Event[]> cache = new IdentityHashMap<>();

    io.etch.api.mvccpb.Event get(Event e, boolean prevKv) {
      io.etch.api.mvccpb.Event[] forms =
          cache.computeIfAbsent(e, x -> new io.etch.api.mvccpb.Event[2]);
      int i = prevKv ? 1 : 0;
      if (forms[i] == null) {
        forms[i] = KvMapper.event(e, prevKv);
      }
      return forms[i];
    }
  }
}
