package io.etch.cli.bench;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The flags every workload shares; names and meanings are those of etcd's benchmark tool. */
public final class BenchOptions {
  @Option(
      names = "--endpoints",
      split = ",",
      defaultValue = "http://127.0.0.1:2379",
      description = "Comma-separated client URLs (default: ${DEFAULT-VALUE}).")
  List<String> endpoints;

  @Option(
      names = "--cacert",
      description = "CA bundle that verifies https:// endpoints (TLS runs).")
  String cacert;

  @Option(
      names = "--user",
      description = "username:password; authenticate once and send the token on every request.")
  String user;

  @Option(
      names = "--conns",
      defaultValue = "1",
      description = "Number of gRPC connections (default: ${DEFAULT-VALUE}).")
  int conns;

  @Option(
      names = "--clients",
      defaultValue = "1",
      description =
          "Number of clients, spread over the connections; each has one request in flight"
              + " (default: ${DEFAULT-VALUE}).")
  int clients;

  @Option(
      names = "--total",
      defaultValue = "10000",
      description = "Total number of requests (default: ${DEFAULT-VALUE}).")
  long total;

  @Option(
      names = "--warmup",
      defaultValue = "0",
      description =
          "Requests sent first, at the same shape, and not measured: they warm this client's JIT"
              + " (default: ${DEFAULT-VALUE}).")
  long warmup;

  @Option(
      names = "--key-size",
      defaultValue = "8",
      description = "Key size in bytes (default: ${DEFAULT-VALUE}).")
  int keySize;

  @Option(
      names = "--val-size",
      defaultValue = "8",
      description = "Value size in bytes (default: ${DEFAULT-VALUE}).")
  int valSize;

  @Option(
      names = "--key-space-size",
      defaultValue = "1",
      description = "Number of distinct keys (default: ${DEFAULT-VALUE}).")
  long keySpaceSize;

  @Option(
      names = "--sequential-keys",
      description = "Use keys 0, 1, 2... of the key space in turn instead of random ones.")
  boolean sequentialKeys;

  @Option(
      names = "--rate",
      defaultValue = "0",
      description = "Maximum requests per second over all clients; 0 is unlimited.")
  double rate;

  @Option(
      names = "--dial-timeout",
      defaultValue = "5",
      description = "Seconds to wait for every connection to be ready (default: ${DEFAULT-VALUE}).")
  int dialTimeoutSeconds;

  @Option(
      names = "--io-threads",
      description =
          "Event loop threads shared by the connections (default: one per core, at most --conns).")
  int ioThreads = Runtime.getRuntime().availableProcessors();

  @Option(
      names = {"--output", "-w"},
      defaultValue = "text",
      description = "Report format: text or json (one line) (default: ${DEFAULT-VALUE}).")
  OutputFormat output;

  /** Report formats. */
  public enum OutputFormat {
    text,
    json
  }

  Keys keys() {
    return new Keys(keySize, keySpaceSize);
  }

  /** Checks values picocli cannot, with messages that name the flag. */
  void validate() {
    require(conns >= 1, "--conns must be at least 1");
    require(clients >= 1, "--clients must be at least 1");
    require(total >= 1, "--total must be at least 1");
    require(warmup >= 0, "--warmup must not be negative");
    require(keySize >= 1, "--key-size must be at least 1");
    require(valSize >= 0, "--val-size must not be negative");
    require(keySpaceSize >= 1, "--key-space-size must be at least 1");
    require(rate >= 0, "--rate must not be negative");
    require(ioThreads >= 1, "--io-threads must be at least 1");
    require(dialTimeoutSeconds >= 1, "--dial-timeout must be at least 1");
    require(
        Keys.fits(keySize, keySpaceSize),
        "--key-space-size " + keySpaceSize + " needs keys longer than --key-size " + keySize);
    parsedEndpoints();
  }

  List<URI> parsedEndpoints() {
    List<URI> out = new ArrayList<>();
    for (String e : endpoints) {
      String s = e.trim();
      if (!s.contains("://")) {
        s = "http://" + s;
      }
      URI u;
      try {
        u = URI.create(s);
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException("--endpoints: bad URL " + e);
      }
      require(
          "http".equals(u.getScheme()) || "https".equals(u.getScheme()),
          "--endpoints: http:// or https:// URLs only: " + e);
      require(u.getHost() != null && u.getPort() > 0, "--endpoints: need host:port in " + e);
      out.add(u);
    }
    require(!out.isEmpty(), "--endpoints must name at least one URL");
    return out;
  }

  static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
