package io.etch.cli.bench;

import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.RangeRequest;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench range}: single-key Range requests (etcd's {@code benchmark range}) on keys this
 * command writes first: every key of the key space, once, with {@code --val-size} values.
 */
@Command(
    name = "range",
    mixinStandardHelpOptions = true,
    description =
        "Benchmark Range: writes every key of the key space once (not measured), then reads one"
            + " key per request.")
final class RangeCommand extends Workload {
  @Option(
      names = "--consistency",
      defaultValue = "l",
      description = "l: linearizable (default), s: serializable.")
  String consistency;

  @Override
  void validate() {
    BenchOptions.require(
        consistency.equals("l") || consistency.equals("s"),
        "--consistency must be l or s, not " + consistency);
  }

  @Override
  void describe(java.util.Map<String, Object> params) {
    params.put("consistency", consistency);
  }

  @Override
  List<Result> measure(Connections conns, PrintWriter progress) throws Exception {
    Keys keys = opts.keys();
    progress.printf(Locale.ROOT, "writing %d keys to read...%n", keys.size());
    progress.flush();
    Result load =
        new ClosedLoop(conns, opts.clients, keys.size(), 0)
            .run("populate", PutCommand.puts(keys, Values.random(opts.valSize), true));
    if (load.failed() > 0) {
      throw new IllegalStateException("writing the keys to read failed: " + load.errors());
    }
    boolean serializable = consistency.equals("s");
    boolean sequential = opts.sequentialKeys;
    Operation range =
        channel -> {
          KVGrpc.KVStub stub = KVGrpc.newStub(channel);
          return (seq, done) ->
              stub.range(
                  RangeRequest.newBuilder()
                      .setKey(keys.key(Values.keyIndex(seq, keys.size(), sequential)))
                      .setSerializable(serializable)
                      .build(),
                  Operation.observer(done));
        };
    return List.of(closedLoop(conns, "range", range, progress));
  }
}
