package io.etch.cli.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code etchctl bench}: a load generator for etch and etcd, shaped like etcd's benchmark. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Load generator for etch and etcd (like etcd's benchmark tool).",
      "Example: etchctl bench put --conns=100 --clients=1000 --total=100000 --val-size=256"
    },
    subcommands = {PutCommand.class, RangeCommand.class, TxnPutCommand.class, WatchCommand.class})
public final class BenchCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing workload: put, range, txn-put or watch");
  }
}
