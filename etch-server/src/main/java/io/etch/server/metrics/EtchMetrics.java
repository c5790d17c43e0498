package io.etch.server.metrics;

import io.etch.server.transport.PeerTransport;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerStreamTracer;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * One member's Prometheus metrics under etcd's names, types, labels and histogram buckets (as etcd
 * 3.4's {@code /metrics} shows them), plus the process and JVM metrics of the Prometheus Java
 * client. {@link #scrape} writes the text exposition format that {@code GET /metrics} serves.
 *
 * <p>Hot paths only add to the client's lock-free cells (counters, histogram buckets) through data
 * points looked up once; gauges etcd sets from its raft loop (leader, committed and applied index,
 * database size) are read from the member when scraped instead.
 *
 * <p>A member has its own registry (several members share a JVM in tests); the JVM's metrics are
 * registered once per JVM and written with every member's.
 */
public final class EtchMetrics {
  /** What the scrape-time gauges read from the member. Called on the scraping thread. */
  public interface Source {
    /** The leader this member knows of, 0 if none. */
    long leader();

    long memberId();

    long committedIndex();

    long appliedIndex();

    /** Bytes the store occupies on disk. */
    long dbSizeInBytes();

    /** Bytes of live data in the store. */
    long dbSizeInUseInBytes();

    /** Keys in the store's index. */
    long keys();
  }

  /** etcd's WAL fsync and backend commit buckets: 1 ms doubling 14 times (to 8.192 s). */
  private static final double DISK_BUCKET_START = 0.001;

  private static final PrometheusRegistry JVM = jvmRegistry();

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Counter leaderChanges;
  private final Counter proposalsFailed;
  private final LongAdder proposalsPending = new LongAdder();
  private final Histogram walFsync;
  private final Histogram backendCommit;
  private final Histogram proposalDuration;
  private final GrpcServerMetrics grpc;
  private final PeerMetrics peers;

  public EtchMetrics(Source source) {
    gauge(
        "etcd_server_has_leader",
        "Whether or not a leader exists. 1 is existence, 0 is not.",
        () -> source.leader() != 0 ? 1 : 0);
    gauge(
        "etcd_server_is_leader",
        "Whether or not this member is a leader. 1 if is, 0 otherwise.",
        () -> source.leader() != 0 && source.leader() == source.memberId() ? 1 : 0);
    leaderChanges =
        Counter.builder()
            .name("etcd_server_leader_changes_seen_total")
            .help("The number of leader changes seen.")
            .withoutExemplars()
            .register(registry);
    // etcd exports these two as gauges despite the _total suffix: the raft indexes.
    gauge(
        "etcd_server_proposals_committed_total",
        "The total number of consensus proposals committed.",
        source::committedIndex);
    gauge(
        "etcd_server_proposals_applied_total",
        "The total number of consensus proposals applied.",
        source::appliedIndex);
    gauge(
        "etcd_server_proposals_pending",
        "The current number of pending proposals to commit.",
        proposalsPending::sum);
    proposalsFailed =
        Counter.builder()
            .name("etcd_server_proposals_failed_total")
            .help("The total number of failed proposals seen.")
            .withoutExemplars()
            .register(registry);
    walFsync =
        diskHistogram(
            "etcd_disk_wal_fsync_duration_seconds",
            "The latency distributions of fsync called by WAL.");
    backendCommit =
        diskHistogram(
            "etcd_disk_backend_commit_duration_seconds",
            "The latency distributions of commit called by backend.");
    // Not one of etcd's: where a write's latency goes (handing to raft until applied here).
    proposalDuration =
        histogram(
            "etch_server_proposal_duration_seconds",
            "The latency distributions of proposals, from handing them to raft to their apply.",
            Math.sqrt(2),
            28);
    gauge(
        "etcd_mvcc_db_total_size_in_bytes",
        "Total size of the underlying database physically allocated in bytes.",
        source::dbSizeInBytes);
    gauge(
        "etcd_mvcc_db_total_size_in_use_in_bytes",
        "Total size of the underlying database logically in use in bytes.",
        source::dbSizeInUseInBytes);
    gauge("etcd_debugging_mvcc_keys_total", "Total number of keys.", source::keys);
    grpc = new GrpcServerMetrics(registry);
    peers = new PeerMetrics(registry);
  }

  private static PrometheusRegistry jvmRegistry() {
    PrometheusRegistry r = new PrometheusRegistry();
    JvmMetrics.builder().register(r); // process_* (resident memory, CPU, fds) and jvm_*
    return r;
  }

  private void gauge(String name, String help, LongSupplier value) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .callback(
            cb -> {
              try {
                cb.call(value.getAsLong());
              } catch (RuntimeException e) {
                // the member is closing (store closed): leave the series out of this scrape
              }
            })
        .register(registry);
  }

  private Histogram diskHistogram(String name, String help) {
    return histogram(name, help, 2, 14);
  }

  /** A classic histogram of seconds whose buckets start at 1 ms and grow by {@code factor}. */
  private Histogram histogram(String name, String help, double factor, int buckets) {
    return Histogram.builder()
        .name(name)
        .help(help)
        .classicOnly()
        .classicExponentialUpperBounds(DISK_BUCKET_START, factor, buckets)
        .withoutExemplars()
        .register(registry);
  }

  /** The raft loop saw a new leader. */
  public void leaderChanged() {
    leaderChanges.inc();
  }

  /** One WAL fsync took {@code nanos}. */
  public void walFsync(long nanos) {
    walFsync.observe(nanos / 1e9);
  }

  /** One apply batch's write to the store took {@code nanos}. */
  public void backendCommit(long nanos) {
    backendCommit.observe(nanos / 1e9);
  }

  /**
   * A request was proposed to raft and awaits apply; returns the start time to give to {@link
   * #proposalEnded}.
   */
  public long proposalStarted() {
    proposalsPending.increment();
    return System.nanoTime();
  }

  /**
   * A proposed request was applied, or {@code failed}: refused by raft, timed out or the member
   * stopped (an etcd error from apply is not a failed proposal, as in etcd).
   */
  public void proposalEnded(long started, boolean failed) {
    proposalsPending.decrement();
    if (failed) {
      proposalsFailed.inc();
    } else {
      proposalDuration.observe((System.nanoTime() - started) / 1e9);
    }
  }

  /**
   * Counts client RPCs (grpc_server_started_total, grpc_server_handled_total); for the client
   * server.
   */
  public ServerStreamTracer.Factory grpcServerTracer() {
    return grpc;
  }

  /** Lists every method of these services with zero counts, as etcd does from its start. */
  public void grpcServices(List<ServerServiceDefinition> services) {
    services.forEach(grpc::register);
  }

  /** Bytes received from each peer; for the peer server. */
  public ServerStreamTracer.Factory peerServerTracer() {
    return peers;
  }

  /** Bytes sent to each peer and round trips; for the peer transport. */
  public PeerTransport.Listener peerTransportListener() {
    return peers;
  }

  /** The content type of {@link #scrape}'s output: Prometheus text format 0.0.4. */
  public String contentType() {
    return writer.getContentType();
  }

  /** Writes every metric of this member and of the JVM in the Prometheus text format. */
  public void scrape(OutputStream out) throws IOException {
    MetricSnapshots.Builder all = MetricSnapshots.builder();
    for (MetricSnapshot s : registry.scrape()) {
      all.metricSnapshot(s);
    }
    for (MetricSnapshot s : JVM.scrape()) {
      all.metricSnapshot(s);
    }
    writer.write(out, all.build());
  }
}
