package io.etch.cli;

import io.etch.cli.bench.BenchCommand;
import io.etch.cli.snapshot.SnapshotCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code etchctl}: the command-line client for etch. Today it has one command, {@code bench}, a
 * load generator shaped like etcd's {@code benchmark} tool; etcdctl's commands come later.
 */
@Command(
    name = "etchctl",
    mixinStandardHelpOptions = true,
    versionProvider = Etchctl.Version.class,
    description = "A command-line client for etch (and etcd).",
    subcommands = {BenchCommand.class, SnapshotCommand.class, CommandLine.HelpCommand.class})
public final class Etchctl implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs etchctl with {@code args} and returns its exit code (tests call this). */
  public static int run(String... args) {
    return new CommandLine(new Etchctl()).execute(args);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Etchctl.class.getPackage().getImplementationVersion();
      return new String[] {"etchctl version: " + (v == null ? "0.1.0-SNAPSHOT" : v)};
    }
  }
}
