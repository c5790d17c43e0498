package io.etch.server.metrics;

import io.etch.server.transport.PeerTransport;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.ConcurrentHashMap;

/**
 * etcd's peer network metrics: {@code etcd_network_peer_sent_bytes_total} and {@code
 * etcd_network_peer_round_trip_time_seconds} by peer (label To, the peer's id in hex), told by the
 * {@link PeerTransport}; {@code etcd_network_peer_received_bytes_total} by sender (label From),
 * from the wire sizes the peer server's gRPC streams report.
 */
final class PeerMetrics extends ServerStreamTracer.Factory implements PeerTransport.Listener {
  private final Counter sent;
  private final Counter received;
  private final Histogram rtt;

  /** Per peer, looked up by a linear scan (a handful of peers; no boxing of the id). */
  private volatile Peer[] peers = new Peer[0];

  private final ConcurrentHashMap<String, CounterDataPoint> receivedFrom =
      new ConcurrentHashMap<>();

  private record Peer(long id, CounterDataPoint sent, DistributionDataPoint rtt) {}

  PeerMetrics(PrometheusRegistry registry) {
    sent =
        Counter.builder()
            .name("etcd_network_peer_sent_bytes_total")
            .help("The total number of bytes sent to peers.")
            .labelNames("To")
            .withoutExemplars()
            .register(registry);
    received =
        Counter.builder()
            .name("etcd_network_peer_received_bytes_total")
            .help("The total number of bytes received from peers.")
            .labelNames("From")
            .withoutExemplars()
            .register(registry);
    rtt =
        Histogram.builder()
            .name("etcd_network_peer_round_trip_time_seconds")
            .help("Round-Trip-Time histogram between peers.")
            .labelNames("To")
            .classicOnly()
            .classicExponentialUpperBounds(0.0001, 2, 14)
            .withoutExemplars()
            .register(registry);
  }

  private Peer peer(long id) {
    for (Peer p : peers) {
      if (p.id() == id) {
        return p;
      }
    }
    synchronized (this) {
      for (Peer p : peers) {
        if (p.id() == id) {
          return p;
        }
      }
      String to = Long.toHexString(id);
      Peer p = new Peer(id, sent.labelValues(to), rtt.labelValues(to));
      Peer[] next = java.util.Arrays.copyOf(peers, peers.length + 1);
      next[peers.length] = p;
      peers = next;
      return p;
    }
  }

  @Override
  public void sent(long to, long bytes) {
    peer(to).sent().inc(bytes);
  }

  @Override
  public void roundTrip(long to, long nanos) {
    peer(to).rtt().observe(nanos / 1e9);
  }

  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    String from = headers.get(PeerTransport.FROM_ID);
    if (from == null) {
      return NOT_COUNTED; // a joining member's Members call: no sender id
    }
    CounterDataPoint dp = receivedFrom.computeIfAbsent(from, received::labelValues);
    return new ServerStreamTracer() {
      @Override
      public void inboundWireSize(long bytes) {
        dp.inc(bytes);
      }
    };
  }

  private static final ServerStreamTracer NOT_COUNTED = new ServerStreamTracer() {};
}
