package io.etch.jepsen.cluster;

import io.etch.jepsen.net.TcpProxy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cluster of real {@code etch} processes on 127.0.0.1, each started as {@code java -cp <cp>
 * io.etch.server.Main} with etcd's flags, and the faults a test injects into them.
 *
 * <p>Member {@code i} listens for peers on its own port L<sub>i</sub> but advertises P<sub>i</sub>,
 * a {@link TcpProxy} to L<sub>i</sub>: every other member dials i through that proxy, and answers
 * i's messages over its own stream to i, through the same proxy. Cutting P<sub>i</sub> therefore
 * isolates i from the peers (its outbound streams still connect, but no reply reaches it).
 *
 * <p>Only processes this class started are ever signalled: SIGKILL through {@link
 * Process#destroyForcibly()}, SIGSTOP/SIGCONT through {@code kill} with the process's own pid. Each
 * member's output is appended to {@code <logDir>/<name>.log} across restarts.
 *
 * <p>Not thread-safe: one thread (the test's nemesis) drives it.
 */
public final class ProcessCluster implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProcessCluster.class);

  /** One member: its ports, data dir, proxy and (while running) process. */
  public static final class Member {
    final int index;
    final String name;
    final int clientPort;
    final int peerListenPort;
    final TcpProxy peerProxy;
    final Path dataDir;
    final Path logFile;
    Process process;
    boolean paused;
    int starts;

    Member(int index, String name, Path dataDir, Path logFile) throws IOException {
      this.index = index;
      this.name = name;
      this.clientPort = freePort();
      this.peerListenPort = freePort();
      this.peerProxy = new TcpProxy(0, peerListenPort);
      this.dataDir = dataDir;
      this.logFile = logFile;
    }

    public String name() {
      return name;
    }

    public int clientPort() {
      return clientPort;
    }

    public String clientUrl() {
      return "http://127.0.0.1:" + clientPort;
    }

    public String advertisedPeerUrl() {
      return "http://127.0.0.1:" + peerProxy.port();
    }

    public Path logFile() {
      return logFile;
    }
  }

  private final List<Member> members = new ArrayList<>();
  private final String classpath;
  private final List<String> jvmOptions;
  private final String token;

  /**
   * @param dir holds each member's data dir
   * @param logDir receives each member's log
   * @param size number of members
   * @param classpath a classpath with etch-server and its dependencies
   */
  public ProcessCluster(Path dir, Path logDir, int size, String classpath) throws IOException {
    this.classpath = classpath;
    // C1 only: a member restarted by the nemesis must serve again quickly, even on a loaded
    // machine.
    this.jvmOptions =
        List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m", "-Xss512k");
    this.token = "etch-jepsen-" + ProcessHandle.current().pid();
    Files.createDirectories(logDir);
    for (int i = 0; i < size; i++) {
      String name = String.valueOf((char) ('a' + i));
      members.add(new Member(i, name, dir.resolve(name), logDir.resolve(name + ".log")));
    }
  }

  public int size() {
    return members.size();
  }

  public Member member(int i) {
    return members.get(i);
  }

  public List<String> clientUrls() {
    return members.stream().map(Member::clientUrl).toList();
  }

  String initialCluster() {
    StringBuilder sb = new StringBuilder();
    for (Member m : members) {
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(m.name).append('=').append(m.advertisedPeerUrl());
    }
    return sb.toString();
  }

  List<String> command(Member m) {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(classpath);
    cmd.add("io.etch.server.Main");
    cmd.add("--name=" + m.name);
    cmd.add("--data-dir=" + m.dataDir);
    cmd.add("--listen-client-urls=" + m.clientUrl());
    cmd.add("--advertise-client-urls=" + m.clientUrl());
    cmd.add("--listen-peer-urls=http://127.0.0.1:" + m.peerListenPort);
    cmd.add("--initial-advertise-peer-urls=" + m.advertisedPeerUrl());
    cmd.add("--initial-cluster=" + initialCluster());
    cmd.add("--initial-cluster-token=" + token);
    cmd.add("--initial-cluster-state=new");
    cmd.add("--heartbeat-interval=50");
    cmd.add("--election-timeout=500");
    return cmd;
  }

  /** Starts every member (a fresh cluster, or restarts from the data dirs). */
  public void startAll() throws IOException {
    for (Member m : members) {
      start(m.index);
    }
  }

  /** Starts member i with its flags and data dir; the same command restarts it after a kill. */
  public void start(int i) throws IOException {
    Member m = members.get(i);
    if (isRunning(i)) {
      throw new IllegalStateException(m.name + " is already running");
    }
    Files.writeString(
        m.logFile,
        "=== start " + (++m.starts) + " at " + java.time.Instant.now() + "\n",
        java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
    ProcessBuilder pb = new ProcessBuilder(command(m));
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(m.logFile.toFile()));
    m.process = pb.start();
    m.paused = false;
    log.info("started {} (pid {})", m.name, m.process.pid());
  }

  public boolean isRunning(int i) {
    Process p = members.get(i).process;
    return p != null && p.isAlive();
  }

  public boolean isPaused(int i) {
    return members.get(i).paused;
  }

  /** SIGKILL: the process dies at once, with whatever it had not fsynced. */
  public void kill(int i) throws InterruptedException {
    Member m = members.get(i);
    if (m.process == null) {
      return;
    }
    m.process.destroyForcibly();
    if (!m.process.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException(m.name + " survived SIGKILL");
    }
    m.paused = false;
    log.info("killed {} (pid {})", m.name, m.process.pid());
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  public void pause(int i) throws IOException, InterruptedException {
    signal(i, "STOP");
    members.get(i).paused = true;
  }

  /** SIGCONT after {@link #pause}. */
  public void resume(int i) throws IOException, InterruptedException {
    signal(i, "CONT");
    members.get(i).paused = false;
  }

  private void signal(int i, String sig) throws IOException, InterruptedException {
    Member m = members.get(i);
    if (!isRunning(i)) {
      throw new IllegalStateException(m.name + " is not running");
    }
    Process kill =
        new ProcessBuilder("kill", "-" + sig, Long.toString(m.process.pid()))
            .redirectErrorStream(true)
            .start();
    if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IOException("kill -" + sig + " " + m.process.pid() + " failed");
    }
    log.info("SIG{} {} (pid {})", sig, m.name, m.process.pid());
  }

  /** Cuts member i's inbound peer traffic (see the class comment). */
  public void partition(int i) {
    members.get(i).peerProxy.cut();
    log.info("partitioned {}", members.get(i).name);
  }

  public void heal(int i) {
    members.get(i).peerProxy.heal();
  }

  public boolean isPartitioned(int i) {
    return members.get(i).peerProxy.isCut();
  }

  /** Heals every partition, resumes every paused member and restarts every dead one. */
  public void healAll() throws IOException, InterruptedException {
    for (Member m : members) {
      heal(m.index);
      if (m.paused && isRunning(m.index)) {
        resume(m.index);
      }
      if (!isRunning(m.index)) {
        start(m.index);
      }
    }
  }

  /** Waits until member i accepts connections on its client port. */
  public void awaitClientPort(int i, Duration timeout) throws InterruptedException {
    Member m = members.get(i);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!isRunning(i)) {
        throw new IllegalStateException(
            m.name + " exited with " + m.process.exitValue() + "; see " + m.logFile);
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), m.clientPort), 200);
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException(m.name + " did not open its client port; see " + m.logFile);
  }

  @Override
  public void close() {
    for (Member m : members) {
      if (m.process != null && m.process.isAlive()) {
        m.process.destroyForcibly();
        try {
          m.process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      m.peerProxy.close();
    }
  }

  private static final java.util.Set<Integer> HANDED_OUT =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * A port free at the time of the call, below the kernel's ephemeral range: a member is restarted
   * on the same port after every kill, and a port from the ephemeral range can be taken in between
   * as the local port of some outgoing connection (a client's, a proxy's). Never the same port
   * twice in one JVM.
   */
  public static int freePort() throws IOException {
    int low = 32768;
    try {
      low =
          Integer.parseInt(
              java.nio.file.Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                  .trim()
                  .split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      // not Linux, or unreadable: keep the usual default
    }
    int from = 10000;
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    for (int attempt = 0; low - from >= 1000 && attempt < 1000; attempt++) {
      int port = from + r.nextInt(low - from);
      if (!HANDED_OUT.add(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return port;
      } catch (IOException taken) {
        // in use: try another
      }
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
