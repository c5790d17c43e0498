package io.etch.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import io.etch.server.config.ConfigException;
import io.etch.server.config.EtchConfig;
import io.etch.storage.mvcc.MvccStore;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code etch}: starts a member with etcd's flags; SIGTERM stops it cleanly. */
public final class Main {
  /** The etcd version etch answers to (clients gate features on it; see DESIGN.md). */
  public static final String ETCD_COMPATIBLE_VERSION = "3.5.13";

  private Main() {}

  public static String version() {
    String v = Main.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }

  public static void main(String[] args) {
    EtchConfig config;
    try {
      config = EtchConfig.parse(args, System.getenv());
    } catch (ConfigException e) {
      System.err.println("etch: " + e.getMessage());
      System.err.println("Try 'etch --help' for more information.");
      System.exit(2);
      return;
    }
    if (config.help()) {
      System.out.print(EtchConfig.usage());
      return;
    }
    if (config.version()) {
      System.out.println("etch Version: " + version());
      System.out.println("etcd API Version: " + ETCD_COMPATIBLE_VERSION);
      System.out.println("Java Version: " + System.getProperty("java.version"));
      return;
    }
    setLogLevel(config.logLevel());
    Logger log = LoggerFactory.getLogger(Main.class);
    log.info(
        "starting etch {} (etcd API {}) as member '{}' with data dir {}",
        version(),
        ETCD_COMPATIBLE_VERSION,
        config.name(),
        config.dataDir());
    EtchServer server;
    try {
      server = EtchServer.start(config);
    } catch (Exception e) {
      log.error("cannot start: {}", e.getMessage(), e);
      System.exit(1);
      return;
    }
    // When idle: the heap, then RocksDB's memtables (flushed to SST files; their native memory is
    // freed, and the JVM's periodic trim returns it; bench/README.md, "Memory").
    IdleHeapReturn.startFromSystemProperty(
        () -> {
          server.store().flush();
          MvccStore.NativeMemory m = server.store().nativeMemory();
          return String.format(
              "RocksDB memtables flushed; it holds block cache %d, memtables %d, table readers %d MiB",
              m.blockCache() >> 20, m.memtables() >> 20, m.tableReaders() >> 20);
        });
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  if (server.terminated().isDone()) {
                    return; // stopped on its own; main is exiting
                  }
                  log.info("received stop signal; shutting down");
                  server.close();
                  log.info("stopped");
                  stopped.countDown();
                },
                "etch-shutdown"));
    // The member can also stop on its own: removed from the cluster (exit 0, as etcd), or after a
    // fatal WAL or apply error (exit 1, as etcd's fatal log), so a supervisor sees it and restarts.
    server.terminated().whenComplete((v, e) -> stopped.countDown());
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (server.failure().isPresent()) {
      log.error("exiting: {}", server.failure().get().toString());
      System.exit(1);
    }
    System.exit(0);
  }

  static void setLogLevel(String level) {
    Level l =
        switch (level) {
          case "debug" -> Level.DEBUG;
          case "warn" -> Level.WARN;
          case "error", "panic", "fatal" -> Level.ERROR;
          default -> Level.INFO;
        };
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(l);
      // Netty and gRPC are chatty at INFO about things operators cannot act on.
      ctx.getLogger("io.grpc").setLevel(Level.WARN);
      ctx.getLogger("io.grpc.netty").setLevel(Level.WARN);
    }
  }
}
