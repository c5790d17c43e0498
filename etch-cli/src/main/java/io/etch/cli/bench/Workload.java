package io.etch.cli.bench;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;

/**
 * The frame every workload shares: checks flags, opens and dials the connections, runs, prints the
 * report. Exit code 0 when every request succeeded, 1 when any failed, 2 on bad flags (picocli) or
 * when the endpoints cannot be reached.
 */
abstract class Workload implements Callable<Integer> {
  @Mixin BenchOptions opts;
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Runs the measured phases over open, ready connections. */
  abstract List<Result> measure(Connections conns, PrintWriter progress) throws Exception;

  /**
   * The closed loop of {@code op} at the flags' shape: {@code --warmup} requests first, whose
   * latencies and errors are dropped, then {@code --total} measured ones.
   */
  Result closedLoop(Connections conns, String name, Operation op, PrintWriter progress)
      throws InterruptedException {
    if (opts.warmup > 0) {
      Result warm = new ClosedLoop(conns, opts.clients, opts.warmup, opts.rate).run("warmup", op);
      progress.printf(
          java.util.Locale.ROOT,
          "warm-up: %d requests, %d failed, not measured%n",
          warm.attempted(),
          warm.failed());
      progress.flush();
    }
    return new ClosedLoop(conns, opts.clients, opts.total, opts.rate).run(name, op);
  }

  /** Workload-specific flag checks; throw IllegalArgumentException naming the flag. */
  void validate() {}

  /** Workload-specific parameters for the JSON line. */
  void describe(Map<String, Object> params) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      opts.validate();
      validate();
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    List<Result> results;
    try (Connections conns =
        new Connections(
            opts.parsedEndpoints(), opts.conns, opts.ioThreads, opts.user, opts.cacert)) {
      try {
        conns.awaitReady(opts.dialTimeoutSeconds, TimeUnit.SECONDS);
      } catch (IllegalStateException e) {
        err.println("etchctl bench: " + e.getMessage());
        return 2;
      }
      results = measure(conns, err);
    }
    if (opts.output == BenchOptions.OutputFormat.json) {
      Map<String, Object> params = new LinkedHashMap<>();
      params.put("workload", spec.name());
      params.put("endpoints", opts.endpoints);
      params.put("conns", opts.conns);
      params.put("clients", opts.clients);
      params.put("total", opts.total);
      params.put("warmup", opts.warmup);
      params.put("key_size", opts.keySize);
      params.put("val_size", opts.valSize);
      params.put("key_space_size", opts.keySpaceSize);
      params.put("sequential_keys", opts.sequentialKeys);
      params.put("rate", opts.rate);
      describe(params);
      out.println(Report.json(params, results));
    } else {
      Report.text(
          out,
          String.format(
              "bench %s: %d requests, %d clients over %d connections to %s",
              spec.name(), opts.total, opts.clients, opts.conns, String.join(",", opts.endpoints)),
          results);
    }
    out.flush();
    return results.stream().anyMatch(r -> r.failed() > 0) ? 1 : 0;
  }
}
