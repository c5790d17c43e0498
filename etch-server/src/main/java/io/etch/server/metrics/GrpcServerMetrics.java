package io.etch.server.metrics;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.ConcurrentHashMap;

/**
 * go-grpc-prometheus's server counters, which etcd exports: {@code grpc_server_started_total} and
 * {@code grpc_server_handled_total} with labels grpc_type, grpc_service, grpc_method (and
 * grpc_code, named as Go names codes); and its {@code grpc_server_handling_seconds} histogram (etcd
 * has it with {@code --metrics=extensive}), from the call's headers to its end, with Go's default
 * buckets. A stream tracer rather than an interceptor: one object per call, and it sees every end
 * of a call, including a client's cancellation and a deadline, which never reach the handler's
 * close.
 */
final class GrpcServerMetrics extends ServerStreamTracer.Factory {
  private static final Status.Code[] CODES = Status.Code.values();
  private static final String[] CODE_NAMES = new String[CODES.length];

  static {
    for (Status.Code c : CODES) {
      CODE_NAMES[c.ordinal()] = goName(c);
    }
  }

  private final Counter started;
  private final Counter handled;
  private final Histogram handling;
  private final ConcurrentHashMap<String, Method> methods = new ConcurrentHashMap<>();

  GrpcServerMetrics(PrometheusRegistry registry) {
    started =
        Counter.builder()
            .name("grpc_server_started_total")
            .help("Total number of RPCs started on the server.")
            .labelNames("grpc_type", "grpc_service", "grpc_method")
            .withoutExemplars()
            .register(registry);
    handled =
        Counter.builder()
            .name("grpc_server_handled_total")
            .help("Total number of RPCs completed on the server, regardless of success or failure.")
            .labelNames("grpc_type", "grpc_service", "grpc_method", "grpc_code")
            .withoutExemplars()
            .register(registry);
    handling =
        Histogram.builder()
            .name("grpc_server_handling_seconds")
            .help(
                "Histogram of response latency (seconds) of gRPC that had been application-level"
                    + " handled by the server.")
            .labelNames("grpc_type", "grpc_service", "grpc_method")
            .classicOnly()
            .classicUpperBounds(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)
            .withoutExemplars()
            .register(registry);
  }

  /** Go's name of a code: {@code INVALID_ARGUMENT} is {@code InvalidArgument}, OK stays OK. */
  static String goName(Status.Code code) {
    if (code == Status.Code.OK) {
      return "OK";
    }
    if (code == Status.Code.CANCELLED) {
      return "Canceled"; // Go's spelling
    }
    StringBuilder b = new StringBuilder();
    for (String part : code.name().split("_")) {
      b.append(part.charAt(0)).append(part.substring(1).toLowerCase(java.util.Locale.ROOT));
    }
    return b.toString();
  }

  /** go-grpc-prometheus's grpc_type values. */
  static String typeName(MethodDescriptor.MethodType t) {
    return switch (t) {
      case UNARY -> "unary";
      case CLIENT_STREAMING -> "client_stream";
      case SERVER_STREAMING -> "server_stream";
      case BIDI_STREAMING -> "bidi_stream";
      case UNKNOWN -> "unknown";
    };
  }

  void register(ServerServiceDefinition service) {
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      method(m.getMethodDescriptor());
    }
  }

  private Method method(MethodDescriptor<?, ?> d) {
    Method m = methods.get(d.getFullMethodName());
    return m != null ? m : methods.computeIfAbsent(d.getFullMethodName(), k -> new Method(d));
  }

  /** One method's data points, looked up once. */
  private final class Method {
    final CounterDataPoint started;
    final DistributionDataPoint handling;
    final CounterDataPoint[] handled = new CounterDataPoint[CODES.length];

    Method(MethodDescriptor<?, ?> d) {
      String type = typeName(d.getType());
      String service = d.getServiceName();
      String name = d.getBareMethodName();
      started = GrpcServerMetrics.this.started.labelValues(type, service, name);
      handling = GrpcServerMetrics.this.handling.labelValues(type, service, name);
      for (int i = 0; i < CODES.length; i++) {
        handled[i] = GrpcServerMetrics.this.handled.labelValues(type, service, name, CODE_NAMES[i]);
      }
    }
  }

  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    return new Tracer();
  }

  /**
   * One call. A call to an unknown method is never started (as in Go, where it never reaches the
   * interceptor) and so not counted when it closes either.
   */
  private final class Tracer extends ServerStreamTracer {
    private final long created = System.nanoTime();
    private volatile Method method;

    @Override
    public void serverCallStarted(ServerCallInfo<?, ?> info) {
      Method m = method(info.getMethodDescriptor());
      m.started.inc();
      method = m;
    }

    @Override
    public void streamClosed(Status status) {
      Method m = method;
      if (m != null) {
        m.handled[status.getCode().ordinal()].inc();
        m.handling.observe((System.nanoTime() - created) / 1e9);
      }
    }
  }
}
