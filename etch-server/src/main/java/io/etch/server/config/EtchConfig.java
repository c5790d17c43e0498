package io.etch.server.config;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * A member's configuration, validated. Built from etcd's flags, their {@code ETCD_*} environment
 * variables, or etcd's YAML config file ({@code --config-file}: then, as in etcd, the file alone
 * decides and flags and environment are ignored).
 */
public record EtchConfig(
    String name,
    Path dataDir,
    List<URI> listenClientUrls,
    List<URI> advertiseClientUrls,
    List<URI> listenPeerUrls,
    List<URI> initialAdvertisePeerUrls,
    Map<String, List<URI>> initialCluster,
    ClusterState initialClusterState,
    String initialClusterToken,
    Duration heartbeatInterval,
    Duration electionTimeout,
    long snapshotCount,
    long quotaBackendBytes,
    int maxRequestBytes,
    int maxTxnOps,
    AutoCompaction autoCompaction,
    String logLevel,
    boolean version,
    boolean help,
    Auth auth,
    ClientTls clientTls,
    ClientTls peerTls,
    String peerCertAllowedCn,
    boolean initialCorruptCheck,
    Duration corruptCheckTime) {

  /**
   * TLS on the client URLs ({@code --cert-file}, {@code --key-file}, {@code --trusted-ca-file},
   * {@code --client-cert-auth}); null when no certificate is configured. Files are re-read when
   * they change, as etcd reads them on each handshake.
   */
  public record ClientTls(
      Path certFile,
      Path keyFile,
      Path trustedCaFile,
      boolean clientCertAuth,
      boolean autoGenerate,
      List<String> cipherSuites,
      String minVersion) {}

  /**
   * The Auth service's settings: {@code --auth-token} ({@code simple}, or {@code jwt} with its
   * {@code key=value} options: {@code pub-key}, {@code priv-key}, {@code sign-method}, {@code
   * ttl}), {@code --auth-token-ttl} (simple tokens) and {@code --bcrypt-cost}.
   */
  public record Auth(
      String tokenType, Map<String, String> tokenOptions, Duration tokenTtl, int bcryptCost) {
    public static final Auth DEFAULTS = new Auth("simple", Map.of(), Duration.ofSeconds(300), 10);
  }

  /** etcd's default backend quota when {@code --quota-backend-bytes} is 0. */
  public static final long DEFAULT_QUOTA_BYTES = 2L * 1024 * 1024 * 1024;

  private static final Set<String> LOG_LEVELS =
      Set.of("debug", "info", "warn", "error", "panic", "fatal");

  /** {@code --initial-cluster-state}. */
  public enum ClusterState {
    NEW,
    EXISTING
  }

  /**
   * Auto-compaction: {@code periodic} keeps {@code retention} of history; {@code revision} keeps
   * the last {@code revisions} revisions. Both zero: disabled.
   */
  public record AutoCompaction(String mode, Duration retention, long revisions) {
    public boolean enabled() {
      return !retention.isZero() || revisions > 0;
    }
  }

  /** Parses command-line flags, falling back to the environment, then etcd's defaults. */
  public static EtchConfig parse(String[] args, Map<String, String> env) throws ConfigException {
    ServerOptions o = parseOptions(args, env);
    if (!o.configFile.isEmpty() && !o.help && !o.version) {
      o = parseOptions(argsFromConfigFile(Path.of(o.configFile)), Map.of());
    }
    return validate(o);
  }

  private static ServerOptions parseOptions(String[] args, Map<String, String> env)
      throws ConfigException {
    ServerOptions o = new ServerOptions();
    CommandLine cl = new CommandLine(o);
    cl.setDefaultValueProvider(new EnvDefaults(env));
    cl.setUnmatchedArgumentsAllowed(false);
    cl.setOverwrittenOptionsAllowed(true);
    try {
      cl.parseArgs(args);
    } catch (ParameterException e) {
      throw new ConfigException(e.getMessage());
    }
    return o;
  }

  /** Usage text for {@code --help}. */
  public static String usage() {
    return new CommandLine(new ServerOptions()).getUsageMessage();
  }

  /** Turns etcd's YAML keys into flags, so one code path validates both. */
  static String[] argsFromConfigFile(Path file) throws ConfigException {
    Map<String, Object> yaml;
    try (InputStream in = Files.newInputStream(file)) {
      Object loaded = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
      if (loaded == null) {
        return new String[0];
      }
      if (!(loaded instanceof Map<?, ?> m)) {
        throw new ConfigException("--config-file " + file + ": expected a YAML mapping");
      }
      yaml = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        yaml.put(String.valueOf(e.getKey()), e.getValue());
      }
    } catch (IOException e) {
      throw new ConfigException("--config-file " + file + ": " + e.getMessage());
    } catch (RuntimeException e) {
      throw new ConfigException("--config-file " + file + ": invalid YAML: " + e.getMessage());
    }
    Set<String> known = knownFlags();
    List<String> args = new ArrayList<>();
    // etcd's YAML nests the client TLS flags under client-transport-security.
    if (yaml.get("client-transport-security") instanceof Map<?, ?> tls) {
      for (Map.Entry<?, ?> e : tls.entrySet()) {
        yaml.putIfAbsent(String.valueOf(e.getKey()), e.getValue());
      }
    }
    for (Map.Entry<String, Object> e : yaml.entrySet()) {
      String flag = "--" + e.getKey();
      // etcd ignores YAML keys it does not know; so do we, except our own file key.
      if (!known.contains(flag) || flag.equals("--config-file") || e.getValue() == null) {
        continue;
      }
      Object v = e.getValue();
      String s =
          v instanceof List<?> l
              ? String.join(",", l.stream().map(String::valueOf).toList())
              : String.valueOf(v);
      args.add(flag + "=" + s);
    }
    return args.toArray(new String[0]);
  }

  private static Set<String> knownFlags() {
    return Set.copyOf(
        new CommandLine(new ServerOptions())
            .getCommandSpec().options().stream().map(opt -> opt.longestName()).toList());
  }

  static EtchConfig validate(ServerOptions o) throws ConfigException {
    if (o.name.isEmpty()) {
      throw new ConfigException("--name must not be empty");
    }
    Path dataDir = Path.of(o.dataDir.isEmpty() ? o.name + ".etch" : o.dataDir);
    List<URI> lcurls = urls("--listen-client-urls", o.listenClientUrls);
    List<URI> acurls = urls("--advertise-client-urls", o.advertiseClientUrls);
    List<URI> lpurls = urls("--listen-peer-urls", o.listenPeerUrls);
    List<URI> apurls = urls("--initial-advertise-peer-urls", o.initialAdvertisePeerUrls);
    Map<String, List<URI>> cluster;
    if (o.initialCluster.isEmpty()) {
      cluster = Map.of(o.name, apurls);
    } else {
      cluster = parseInitialCluster(o.initialCluster);
    }
    ClusterState state =
        switch (o.initialClusterState) {
          case "new" -> ClusterState.NEW;
          case "existing" -> ClusterState.EXISTING;
          default ->
              throw new ConfigException(
                  "invalid value \""
                      + o.initialClusterState
                      + "\" for flag --initial-cluster-state: must be 'new' or 'existing'");
        };
    if (state == ClusterState.NEW && !cluster.containsKey(o.name)) {
      throw new ConfigException(
          "couldn't find local name \"" + o.name + "\" in the initial cluster configuration");
    }
    if (o.heartbeatInterval <= 0) {
      throw new ConfigException("--heartbeat-interval must be greater than 0");
    }
    if (o.electionTimeout <= 0) {
      throw new ConfigException("--election-timeout must be greater than 0");
    }
    if (5 * o.heartbeatInterval > o.electionTimeout) {
      throw new ConfigException(
          "--election-timeout["
              + o.electionTimeout
              + "ms] should be at least as 5 times as --heartbeat-interval["
              + o.heartbeatInterval
              + "ms]");
    }
    if (o.electionTimeout > 50_000) {
      throw new ConfigException(
          "--election-timeout["
              + o.electionTimeout
              + "ms] is too long, and should be set less than 50000ms");
    }
    if (o.snapshotCount <= 0) {
      throw new ConfigException("--snapshot-count must be greater than 0");
    }
    if (o.quotaBackendBytes < 0) {
      throw new ConfigException("--quota-backend-bytes must not be negative");
    }
    if (o.maxRequestBytes <= 0) {
      throw new ConfigException("--max-request-bytes must be greater than 0");
    }
    if (o.maxTxnOps <= 0) {
      throw new ConfigException("--max-txn-ops must be greater than 0");
    }
    if (!LOG_LEVELS.contains(o.logLevel)) {
      throw new ConfigException(
          "invalid value \""
              + o.logLevel
              + "\" for flag --log-level: expected one of "
              + LOG_LEVELS);
    }
    AutoCompaction ac = autoCompaction(o.autoCompactionMode, o.autoCompactionRetention);
    String[] tokenParts = o.authToken.split(",");
    String tokenType = tokenParts[0];
    Map<String, String> tokenOptions = new LinkedHashMap<>();
    for (int i = 1; i < tokenParts.length; i++) {
      String[] kv = tokenParts[i].split("=", -1);
      // etcd's decomposeOpts: key=value pairs, no key twice
      if (kv.length != 2 || tokenOptions.putIfAbsent(kv[0], kv[1]) != null) {
        throw new ConfigException("--auth-token " + o.authToken + ": auth: invalid auth options");
      }
    }
    if (!tokenType.equals("simple") && !tokenType.equals("jwt")) {
      throw new ConfigException("--auth-token " + o.authToken + ": auth: invalid auth options");
    }
    if (o.authTokenTtl <= 0) {
      throw new ConfigException("--auth-token-ttl must be greater than 0");
    }
    // bcrypt's own bounds (etcd falls back to its default outside them; etch refuses to start).
    if (o.bcryptCost < 4 || o.bcryptCost > 31) {
      throw new ConfigException("--bcrypt-cost must be between 4 and 31, got " + o.bcryptCost);
    }
    // Go's cipher suite names are the IANA names the JDK uses too.
    List<String> cipherSuites =
        o.cipherSuites.isEmpty()
            ? List.of()
            : List.of(o.cipherSuites.split(",")).stream().map(String::trim).toList();
    String tlsMinVersion =
        switch (o.tlsMinVersion) {
          case "TLS1.2" -> "TLSv1.2";
          case "TLS1.3" -> "TLSv1.3";
          default ->
              throw new ConfigException(
                  "--tls-min-version "
                      + o.tlsMinVersion
                      + ": must be TLS1.2 or TLS1.3 (the JDK disables older versions)");
        };
    if (!cipherSuites.isEmpty() && tlsMinVersion.equals("TLSv1.3")) {
      // etcd: TLS 1.3 suites are not configurable.
      throw new ConfigException("--cipher-suites cannot be used with --tls-min-version TLS1.3");
    }
    // etcd's --auto-tls and --peer-auto-tls keep a self-signed certificate under
    // <data-dir>/fixtures/{client,peer}; with --peer-auto-tls peers encrypt without verifying
    // each other (etcd's InsecureSkipVerify for auto TLS).
    ClientTls clientTls =
        tls(
            "",
            o.certFile,
            o.keyFile,
            o.trustedCaFile,
            o.clientCertAuth,
            o.autoTls,
            dataDir.resolve("fixtures").resolve("client"),
            cipherSuites,
            tlsMinVersion);
    ClientTls peerTls =
        tls(
            "peer-",
            o.peerCertFile,
            o.peerKeyFile,
            o.peerTrustedCaFile,
            o.peerClientCertAuth,
            o.peerAutoTls,
            dataDir.resolve("fixtures").resolve("peer"),
            cipherSuites,
            tlsMinVersion);
    requireTls(lpurls, peerTls, "peer-", "peer");
    requireTls(lcurls, clientTls, "", "client");
    return new EtchConfig(
        o.name,
        dataDir,
        lcurls,
        acurls,
        lpurls,
        apurls,
        cluster,
        state,
        o.initialClusterToken,
        Duration.ofMillis(o.heartbeatInterval),
        Duration.ofMillis(o.electionTimeout),
        o.snapshotCount,
        o.quotaBackendBytes == 0 ? DEFAULT_QUOTA_BYTES : o.quotaBackendBytes,
        o.maxRequestBytes,
        o.maxTxnOps,
        ac,
        o.logLevel,
        o.version,
        o.help,
        new Auth(
            tokenType, Map.copyOf(tokenOptions), Duration.ofSeconds(o.authTokenTtl), o.bcryptCost),
        clientTls,
        peerTls,
        o.peerCertAllowedCn,
        o.experimentalInitialCorruptCheck,
        goDuration("--experimental-corrupt-check-time", o.experimentalCorruptCheckTime));
  }

  /**
   * The TLS settings of one listener kind, from its flags ({@code prefix} "" for clients, "peer-"
   * for peers): given files, a generated self-signed pair, or null for plain text.
   */
  private static ClientTls tls(
      String prefix,
      String certFile,
      String keyFile,
      String trustedCaFile,
      boolean clientCertAuth,
      boolean auto,
      Path fixtures,
      List<String> cipherSuites,
      String tlsMinVersion)
      throws ConfigException {
    if (!certFile.isEmpty() || !keyFile.isEmpty()) {
      if (certFile.isEmpty() || keyFile.isEmpty()) {
        throw new ConfigException(
            "--" + prefix + "cert-file and --" + prefix + "key-file must be given together");
      }
      if (clientCertAuth && trustedCaFile.isEmpty()) {
        throw new ConfigException(
            "--" + prefix + "client-cert-auth needs --" + prefix + "trusted-ca-file");
      }
      return new ClientTls(
          Path.of(certFile),
          Path.of(keyFile),
          trustedCaFile.isEmpty() ? null : Path.of(trustedCaFile),
          clientCertAuth,
          false,
          cipherSuites,
          tlsMinVersion);
    }
    if (auto) {
      return new ClientTls(
          fixtures.resolve("cert.pem"),
          fixtures.resolve("key.pem"),
          null,
          false,
          true,
          cipherSuites,
          tlsMinVersion);
    }
    return null;
  }

  /** etcd refuses an https URL without the TLS key and certificate for it. */
  private static void requireTls(List<URI> urls, ClientTls tls, String prefix, String kind)
      throws ConfigException {
    for (URI u : urls) {
      if ("https".equals(u.getScheme()) && tls == null) {
        throw new ConfigException(
            "TLS key/cert (--"
                + prefix
                + "cert-file, --"
                + prefix
                + "key-file) must be provided for "
                + kind
                + " url "
                + u
                + " with HTTPS scheme");
      }
    }
  }

  static AutoCompaction autoCompaction(String mode, String retention) throws ConfigException {
    switch (mode) {
      case "periodic" -> {
        // etcd: a bare number means hours; otherwise a Go duration such as 30m or 1h30m.
        Duration d;
        try {
          d =
              retention.matches("\\d+")
                  ? Duration.ofHours(Long.parseLong(retention))
                  : GoDuration.parse(retention);
        } catch (IllegalArgumentException e) {
          throw new ConfigException(
              "invalid value \""
                  + retention
                  + "\" for flag --auto-compaction-retention: "
                  + e.getMessage());
        }
        if (d.isNegative()) {
          throw new ConfigException("--auto-compaction-retention must not be negative");
        }
        return new AutoCompaction("periodic", d, 0);
      }
      case "revision" -> {
        long revs;
        try {
          revs = Long.parseLong(retention);
        } catch (NumberFormatException e) {
          throw new ConfigException(
              "invalid value \""
                  + retention
                  + "\" for flag --auto-compaction-retention: revision mode needs a number");
        }
        if (revs < 0) {
          throw new ConfigException("--auto-compaction-retention must not be negative");
        }
        return new AutoCompaction("revision", Duration.ZERO, revs);
      }
      default ->
          throw new ConfigException(
              "unknown auto-compaction-mode \"" + mode + "\" (must be 'periodic' or 'revision')");
    }
  }

  static List<URI> urls(String flag, String value) throws ConfigException {
    List<URI> out = new ArrayList<>();
    for (String s : value.split(",")) {
      s = s.trim();
      if (s.isEmpty()) {
        continue;
      }
      out.add(url(flag, s));
    }
    if (out.isEmpty()) {
      throw new ConfigException(flag + " must not be empty");
    }
    return List.copyOf(out);
  }

  static URI url(String flag, String s) throws ConfigException {
    URI u;
    try {
      u = new URI(s);
    } catch (URISyntaxException e) {
      throw new ConfigException(flag + ": invalid URL \"" + s + "\": " + e.getReason());
    }
    if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
      throw new ConfigException(flag + ": URL scheme must be http or https: \"" + s + "\"");
    }
    if (u.getHost() == null || u.getPort() < 0 || u.getPort() > 65535) {
      throw new ConfigException(flag + ": URL must have a host and a port: \"" + s + "\"");
    }
    if (u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/")) {
      throw new ConfigException(flag + ": URL must not have a path: \"" + s + "\"");
    }
    return u;
  }

  /**
   * A Go duration as etcd's flags take them: {@code 0}, {@code 500ms}, {@code 3s}, {@code 1m30s}.
   */
  static Duration goDuration(String flag, String v) throws ConfigException {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|ms|s|m|h)").matcher(v);
    if (v.equals("0")) {
      return Duration.ZERO;
    }
    double nanos = 0;
    int at = 0;
    while (m.find() && m.start() == at) {
      double n = Double.parseDouble(m.group(1));
      nanos +=
          n
              * switch (m.group(2)) {
                case "ns" -> 1;
                case "us" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                default -> 3600e9;
              };
      at = m.end();
    }
    if (at != v.length() || v.isEmpty()) {
      throw new ConfigException("invalid value \"" + v + "\" for flag " + flag);
    }
    return Duration.ofNanos((long) nanos);
  }

  static Map<String, List<URI>> parseInitialCluster(String v) throws ConfigException {
    Map<String, List<URI>> out = new LinkedHashMap<>();
    for (String part : v.split(",")) {
      part = part.trim();
      if (part.isEmpty()) {
        continue;
      }
      int eq = part.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException("--initial-cluster: expected name=URL, got \"" + part + "\"");
      }
      String name = part.substring(0, eq);
      URI u = url("--initial-cluster", part.substring(eq + 1));
      out.computeIfAbsent(name, k -> new ArrayList<>()).add(u);
    }
    if (out.isEmpty()) {
      throw new ConfigException("--initial-cluster must not be empty");
    }
    Map<String, List<URI>> frozen = new LinkedHashMap<>();
    for (Map.Entry<String, List<URI>> e : out.entrySet()) {
      frozen.put(e.getKey(), List.copyOf(e.getValue()));
    }
    return java.util.Collections.unmodifiableMap(frozen);
  }
}
