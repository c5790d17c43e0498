package io.etch.server.config;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * etcd's command-line flags, by the same names and defaults (etcd 3.5 {@code etcd --help}). Every
 * flag can also come from its {@code ETCD_*} environment variable (see {@link EnvDefaults}) or,
 * with {@code --config-file}, from etcd's YAML keys. Values are checked in {@link EtchConfig}.
 */
@Command(
    name = "etch",
    mixinStandardHelpOptions = false,
    description = "etch: an etcd v3-compatible, strongly consistent, distributed key-value store.")
public final class ServerOptions {
  @Option(names = "--name", description = "Human-readable name for this member.")
  public String name = "default";

  @Option(names = "--data-dir", description = "Path to the data directory (default: <name>.etch).")
  public String dataDir = "";

  @Option(
      names = "--listen-client-urls",
      description = "List of URLs to listen on for client traffic.")
  public String listenClientUrls = "http://127.0.0.1:2379";

  @Option(
      names = "--advertise-client-urls",
      description = "List of this member's client URLs to advertise to the public.")
  public String advertiseClientUrls = "http://127.0.0.1:2379";

  @Option(names = "--listen-peer-urls", description = "List of URLs to listen on for peer traffic.")
  public String listenPeerUrls = "http://127.0.0.1:2380";

  @Option(
      names = "--initial-advertise-peer-urls",
      description = "List of this member's peer URLs to advertise to the rest of the cluster.")
  public String initialAdvertisePeerUrls = "http://127.0.0.1:2380";

  @Option(
      names = "--initial-cluster",
      description = "Initial cluster configuration for bootstrapping (name=peerURL,...).")
  public String initialCluster = "";

  @Option(
      names = "--initial-cluster-state",
      description = "Initial cluster state ('new' or 'existing').")
  public String initialClusterState = "new";

  @Option(
      names = "--initial-cluster-token",
      description = "Initial cluster token for the cluster during bootstrap.")
  public String initialClusterToken = "etcd-cluster";

  @Option(names = "--heartbeat-interval", description = "Time (in milliseconds) of a heartbeat.")
  public long heartbeatInterval = 100;

  @Option(names = "--election-timeout", description = "Time (in milliseconds) for an election.")
  public long electionTimeout = 1000;

  @Option(
      names = "--snapshot-count",
      description = "Number of committed transactions to trigger a snapshot to disk.")
  public long snapshotCount = 100_000;

  @Option(
      names = "--quota-backend-bytes",
      description = "Raise alarms when backend size exceeds the given quota (0 defaults to 2 GiB).")
  public long quotaBackendBytes = 0;

  @Option(
      names = "--experimental-initial-corrupt-check",
      arity = "0..1",
      fallbackValue = "true",
      description = "Check data corruption before serving any client/peer traffic.")
  public boolean experimentalInitialCorruptCheck;

  @Option(
      names = "--experimental-corrupt-check-time",
      description = "Duration of time between cluster corruption check passes (0s: off).")
  public String experimentalCorruptCheckTime = "0s";

  @Option(
      names = "--max-request-bytes",
      description = "Maximum client request size in bytes the server will accept.")
  public int maxRequestBytes = 1_572_864;

  @Option(
      names = "--max-txn-ops",
      description = "Maximum number of operations permitted in a transaction.")
  public int maxTxnOps = 128;

  @Option(
      names = "--auto-compaction-mode",
      description = "Interpret 'auto-compaction-retention' as 'periodic' or 'revision'.")
  public String autoCompactionMode = "periodic";

  @Option(
      names = "--auto-compaction-retention",
      description =
          "Auto compaction retention for mvcc key value store. 0 means disable auto compaction.")
  public String autoCompactionRetention = "0";

  @Option(
      names = "--auth-token",
      description =
          "Specify auth token specific options ('simple'; 'jwt' is not supported yet by etch).")
  public String authToken = "simple";

  @Option(names = "--auth-token-ttl", description = "The lifetime in seconds of the auth token.")
  public long authTokenTtl = 300;

  @Option(
      names = "--bcrypt-cost",
      description = "Specify bcrypt algorithm cost factor for auth password hashing.")
  public int bcryptCost = 10;

  @Option(names = "--cert-file", description = "Path to the client server TLS cert file.")
  public String certFile = "";

  @Option(names = "--key-file", description = "Path to the client server TLS key file.")
  public String keyFile = "";

  @Option(
      names = "--trusted-ca-file",
      description = "Path to the client server TLS trusted CA cert file.")
  public String trustedCaFile = "";

  @Option(
      names = "--cipher-suites",
      description =
          "Comma-separated list of supported TLS cipher suites between client/server and peers"
              + " (empty will be auto-populated by the JDK).")
  public String cipherSuites = "";

  @Option(
      names = "--tls-min-version",
      description = "Minimum TLS version supported by etch ('TLS1.2' or 'TLS1.3').")
  public String tlsMinVersion = "TLS1.2";

  @Option(names = "--peer-cert-file", description = "Path to the peer server TLS cert file.")
  public String peerCertFile = "";

  @Option(names = "--peer-key-file", description = "Path to the peer server TLS key file.")
  public String peerKeyFile = "";

  @Option(
      names = "--peer-trusted-ca-file",
      description = "Path to the peer server TLS trusted CA file.")
  public String peerTrustedCaFile = "";

  @Option(
      names = "--peer-client-cert-auth",
      arity = "0..1",
      fallbackValue = "true",
      description = "Enable peer client cert authentication.")
  public boolean peerClientCertAuth;

  @Option(
      names = "--peer-auto-tls",
      arity = "0..1",
      fallbackValue = "true",
      description = "Peer TLS using generated certificates.")
  public boolean peerAutoTls;

  @Option(
      names = "--peer-cert-allowed-cn",
      description = "Allowed CN for inter peer authentication.")
  public String peerCertAllowedCn = "";

  @Option(
      names = "--auto-tls",
      arity = "0..1",
      fallbackValue = "true",
      description = "Client TLS using generated certificates.")
  public boolean autoTls;

  @Option(
      names = "--client-cert-auth",
      arity = "0..1",
      fallbackValue = "true",
      description = "Enable client cert authentication.")
  public boolean clientCertAuth;

  @Option(
      names = "--log-level",
      description =
          "Configures log level. Only supports debug, info, warn, error, panic, or fatal.")
  public String logLevel = "info";

  @Option(
      names = "--config-file",
      description = "Path to the server configuration file (etcd's YAML keys).")
  public String configFile = "";

  @Option(names = "--version", description = "Print the version and exit.")
  public boolean version;

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Show this help and exit.")
  public boolean help;
}
