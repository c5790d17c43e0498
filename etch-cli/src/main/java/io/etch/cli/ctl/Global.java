package io.etch.cli.ctl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/**
 * etcdctl's global flags; each unset flag falls back to its {@code ETCDCTL_*} variable (the flag
 * name upper-cased, dashes as underscores), then to etcdctl's default.
 */
public final class Global {
  @Option(names = "--endpoints", split = ",", description = "gRPC endpoints")
  List<String> endpoints;

  @Option(names = "--dial-timeout", description = "dial timeout for client connections")
  String dialTimeout;

  @Option(names = "--command-timeout", description = "timeout for short running command")
  String commandTimeout;

  @Option(names = "--keepalive-time", hidden = true)
  String keepaliveTime;

  @Option(names = "--keepalive-timeout", hidden = true)
  String keepaliveTimeout;

  @Option(names = "--user", description = "username[:password] for authentication")
  String user;

  @Option(names = "--password", description = "password for authentication")
  String password;

  @Option(names = "--cacert", description = "verify certificates of TLS servers with this CA")
  String cacert;

  @Option(names = "--cert", description = "identify secure client using this TLS certificate")
  String cert;

  @Option(names = "--key", description = "identify secure client using this TLS key file")
  String key;

  @Option(
      names = "--insecure-skip-tls-verify",
      arity = "0..1",
      fallbackValue = "true",
      description = "skip server certificate verification")
  Boolean insecureSkipTlsVerify;

  @Option(names = "--insecure-transport", arity = "0..1", fallbackValue = "true", hidden = true)
  Boolean insecureTransport;

  @Option(names = "--insecure-discovery", arity = "0..1", fallbackValue = "true", hidden = true)
  Boolean insecureDiscovery;

  @Option(
      names = "--hex",
      arity = "0..1",
      fallbackValue = "true",
      description = "print byte strings as hex encoded strings")
  Boolean hex;

  @Option(
      names = {"-w", "--write-out"},
      description = "set the output format (fields, json, protobuf, simple, table)")
  String writeOut;

  @Option(names = "--debug", arity = "0..1", fallbackValue = "true", description = "ignored")
  Boolean debug;

  /** The names of the flags that take a value (for moving flags given before the command). */
  static final List<String> VALUED =
      List.of(
          "--endpoints",
          "--dial-timeout",
          "--command-timeout",
          "--keepalive-time",
          "--keepalive-timeout",
          "--user",
          "--password",
          "--cacert",
          "--cert",
          "--key",
          "-w",
          "--write-out",
          "--discovery-srv",
          "-d",
          "--discovery-srv-name");

  static final List<String> BOOLEAN =
      List.of(
          "--insecure-skip-tls-verify",
          "--insecure-transport",
          "--insecure-discovery",
          "--hex",
          "--debug");

  /** Resolved settings. */
  record Settings(
      List<String> endpoints,
      Duration dialTimeout,
      Duration commandTimeout,
      String user,
      String password,
      String cacert,
      String cert,
      String key,
      boolean insecureSkipTlsVerify,
      boolean hex,
      String writeOut) {}

  Settings resolve(Map<String, String> env) {
    List<String> eps =
        endpoints != null
            ? endpoints
            : List.of(env.getOrDefault("ETCDCTL_ENDPOINTS", "127.0.0.1:2379").split(","));
    List<String> clean = new ArrayList<>();
    for (String e : eps) {
      if (!e.isBlank()) {
        clean.add(e.trim());
      }
    }
    String w = pick(writeOut, env, "ETCDCTL_WRITE_OUT", "simple");
    if (!List.of("simple", "json", "fields", "table", "protobuf").contains(w)) {
      throw new CtlException(1, "unknown output format " + w);
    }
    return new Settings(
        clean,
        parseDuration(pick(dialTimeout, env, "ETCDCTL_DIAL_TIMEOUT", "2s")),
        parseDuration(pick(commandTimeout, env, "ETCDCTL_COMMAND_TIMEOUT", "5s")),
        pick(user, env, "ETCDCTL_USER", null),
        pick(password, env, "ETCDCTL_PASSWORD", null),
        pick(cacert, env, "ETCDCTL_CACERT", null),
        pick(cert, env, "ETCDCTL_CERT", null),
        pick(key, env, "ETCDCTL_KEY", null),
        bool(insecureSkipTlsVerify, env, "ETCDCTL_INSECURE_SKIP_TLS_VERIFY"),
        bool(hex, env, "ETCDCTL_HEX"),
        w);
  }

  private static String pick(String flag, Map<String, String> env, String var, String dflt) {
    if (flag != null) {
      return flag;
    }
    String v = env.get(var);
    return v == null || v.isEmpty() ? dflt : v;
  }

  private static boolean bool(Boolean flag, Map<String, String> env, String var) {
    if (flag != null) {
      return flag;
    }
    return Boolean.parseBoolean(env.getOrDefault(var, "false"));
  }

  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d*)?)(ns|us|µs|ms|s|m|h)");

  /** Go's time.ParseDuration (the forms etcdctl users write: 5s, 500ms, 1m30s). */
  static Duration parseDuration(String s) {
    Matcher m = PART.matcher(s);
    double nanos = 0;
    int end = 0;
    while (m.find() && m.start() == end) {
      double v = Double.parseDouble(m.group(1));
      nanos +=
          v
              * switch (m.group(2)) {
                case "ns" -> 1;
                case "us", "µs" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                default -> 3600e9;
              };
      end = m.end();
    }
    if (end != s.length() || s.isEmpty()) {
      throw new CtlException(1, "time: invalid duration " + Go.quote(s));
    }
    return Duration.ofNanos((long) nanos);
  }
}
