package io.etch.cli.bench;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * Prints results like etcd's benchmark (summary, latency distribution, errors) or as one JSON line.
 * Latencies are kept in nanoseconds with three significant digits and shown with microsecond
 * precision.
 */
final class Report {
  static final double[] PERCENTILES = {10, 25, 50, 75, 90, 95, 99, 99.9};

  private Report() {}

  static void text(PrintWriter out, String header, List<Result> results) {
    out.println(header);
    for (Result r : results) {
      Histogram h = r.latencyNanos();
      out.println();
      out.printf(Locale.ROOT, "Summary (%s):%n", r.name());
      out.printf(Locale.ROOT, "  Total:\t%.4f secs.%n", r.seconds());
      out.printf(Locale.ROOT, "  Requests:\t%d ok, %d failed%n", r.succeeded(), r.failed());
      if (h.getTotalCount() > 0) {
        out.printf(Locale.ROOT, "  Slowest:\t%s%n", ms(h.getMaxValue()));
        out.printf(Locale.ROOT, "  Fastest:\t%s%n", ms(h.getMinValue()));
        out.printf(Locale.ROOT, "  Average:\t%s%n", ms(h.getMean()));
        out.printf(Locale.ROOT, "  Stddev:\t%s%n", ms(h.getStdDeviation()));
      }
      out.printf(Locale.ROOT, "  Requests/sec:\t%.1f%n", r.requestsPerSecond());
      if (h.getTotalCount() > 0) {
        out.println();
        out.println("Latency distribution:");
        for (double p : PERCENTILES) {
          out.printf(Locale.ROOT, "  %s%% in %s%n", pct(p), ms(h.getValueAtPercentile(p)));
        }
      }
      if (!r.errors().isEmpty()) {
        out.println();
        out.println("Error distribution:");
        r.errors().forEach((k, v) -> out.printf(Locale.ROOT, "  [%d]\t%s%n", v, k));
      }
    }
  }

  /**
   * One JSON object: the run's parameters and the first result's figures at top level; further
   * results (the watch workload's puts) nested under their names.
   */
  static String json(Map<String, Object> params, List<Result> results) {
    StringBuilder b = new StringBuilder("{");
    params.forEach((k, v) -> field(b, k, v));
    fields(b, results.get(0));
    for (Result r : results.subList(1, results.size())) {
      b.append(quote(r.name())).append(":{");
      fields(b, r);
      b.setLength(b.length() - 1);
      b.append("},");
    }
    b.setLength(b.length() - 1);
    return b.append('}').toString();
  }

  private static void fields(StringBuilder b, Result r) {
    Histogram h = r.latencyNanos();
    boolean any = h.getTotalCount() > 0;
    field(b, "attempted", r.attempted());
    field(b, "ok", r.succeeded());
    field(b, "failed", r.failed());
    StringBuilder e = new StringBuilder("{");
    r.errors().forEach((k, v) -> e.append(quote(k)).append(':').append(v).append(','));
    if (e.length() > 1) {
      e.setLength(e.length() - 1);
    }
    b.append("\"errors\":").append(e).append("},");
    field(b, "seconds", round(r.seconds(), 4));
    field(b, "rps", round(r.requestsPerSecond(), 1));
    field(b, "avg_us", any ? round(h.getMean() / 1e3, 1) : null);
    field(b, "stddev_us", any ? round(h.getStdDeviation() / 1e3, 1) : null);
    field(b, "min_us", any ? round(h.getMinValue() / 1e3, 1) : null);
    field(b, "max_us", any ? round(h.getMaxValue() / 1e3, 1) : null);
    for (double p : PERCENTILES) {
      String name = "p" + pct(p).replace(".", "") + "_us";
      field(b, name, any ? round(h.getValueAtPercentile(p) / 1e3, 1) : null);
    }
  }

  private static void field(StringBuilder b, String k, Object v) {
    b.append(quote(k)).append(':');
    if (v == null) {
      b.append("null");
    } else if (v instanceof Number || v instanceof Boolean) {
      b.append(v);
    } else if (v instanceof List<?> l) {
      b.append('[');
      for (int i = 0; i < l.size(); i++) {
        b.append(i == 0 ? "" : ",").append(quote(String.valueOf(l.get(i))));
      }
      b.append(']');
    } else {
      b.append(quote(String.valueOf(v)));
    }
    b.append(',');
  }

  private static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  private static String pct(double p) {
    return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
  }

  private static String ms(double nanos) {
    return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
  }
}
