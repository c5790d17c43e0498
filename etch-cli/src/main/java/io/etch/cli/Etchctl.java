package io.etch.cli;

import io.etch.cli.bench.BenchCommand;
import io.etch.cli.ctl.Commands;
import io.etch.cli.ctl.CtlException;
import io.etch.cli.snapshot.SnapshotCommand;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code etchctl}: the command-line client for etch, with etcdctl v3's commands, flags, {@code
 * ETCDCTL_*} variables and output formats, and {@code bench}, a load generator shaped like etcd's
 * {@code benchmark} tool.
 */
@Command(
    name = "etchctl",
    mixinStandardHelpOptions = true,
    versionProvider = Etchctl.Version.class,
    description = "A command-line client for etch (and etcd).",
    subcommands = {BenchCommand.class, SnapshotCommand.class, CommandLine.HelpCommand.class})
public final class Etchctl implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private Map<String, String> env = Map.of();
  private BufferedReader stdin;
  private OutputStream rawOut = System.out;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs etchctl with {@code args} and returns its exit code (tests call this). */
  public static int run(String... args) {
    return run(System.getenv(), System.in, System.out, System.err, args);
  }

  /** Runs etchctl with its own environment and standard streams. */
  public static int run(
      Map<String, String> env, InputStream in, OutputStream out, OutputStream err, String... args) {
    Etchctl root = new Etchctl();
    root.env = env;
    root.stdin = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    root.rawOut = out;
    CommandLine cmd = new CommandLine(root);
    Commands.register(cmd);
    PrintWriter o =
        new PrintWriter(
            new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8) {
              // keep ordering with raw protobuf writes
            },
            true);
    PrintWriter e =
        new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true);
    cmd.setOut(o);
    cmd.setErr(e);
    cmd.setExecutionExceptionHandler(
        (ex, line, parsed) -> {
          o.flush();
          if (ex instanceof CtlException c) {
            e.println("Error: " + c.getMessage());
            return c.code();
          }
          if (ex instanceof io.grpc.StatusRuntimeException) {
            e.println("Error: " + Commands.errorMessage(ex));
            return 1;
          }
          throw ex;
        });
    cmd.setParameterExceptionHandler(
        (ex, a) -> {
          e.println("Error: " + ex.getMessage());
          return 1;
        });
    try {
      return cmd.execute(Commands.globalFlagsAfterCommand(cmd, args));
    } finally {
      o.flush();
      e.flush();
      if (out instanceof PrintStream ps) {
        ps.flush();
      }
    }
  }

  /** The variables {@code ETCDCTL_*} defaults come from. */
  public Map<String, String> env() {
    return env;
  }

  public BufferedReader stdin() {
    return stdin;
  }

  /** Standard output as bytes (for {@code -w protobuf}). */
  public OutputStream rawOut() {
    return rawOut;
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
