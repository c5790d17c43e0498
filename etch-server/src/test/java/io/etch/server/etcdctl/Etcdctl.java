package io.etch.server.etcdctl;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Runs Debian's etcdctl (API v3) against one endpoint, as a user would from a shell. */
public final class Etcdctl {
  static final String INSTALL_HINT =
      "these tests compare etch with a real etcd: apt-get install -y etcd-server etcd-client";

  private Etcdctl() {}

  /** What one etcdctl command did: exit code, stdout, and stderr without clientv3's JSON logs. */
  public record Result(int exit, String out, String err) {}

  /** The path of {@code name} on the PATH (or /usr/bin), failing the test when it is missing. */
  static String binary(String name) {
    List<String> dirs = new ArrayList<>();
    String path = System.getenv("PATH");
    if (path != null) {
      dirs.addAll(List.of(path.split(":")));
    }
    dirs.add("/usr/bin");
    for (String d : dirs) {
      Path p = Path.of(d, name);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return fail(name + " not found; " + INSTALL_HINT);
  }

  public static Result run(String endpoint, String stdin, List<String> args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary("etcdctl"));
    cmd.add("--endpoints=" + endpoint);
    cmd.add("--dial-timeout=5s");
    cmd.add("--command-timeout=10s");
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("ETCDCTL_API", "3");
    Process p = pb.start();
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<String> err = drain(p.getErrorStream());
    try (OutputStream in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail("etcdctl " + args + " did not finish");
      }
      return new Result(p.exitValue(), out.get(), withoutClientLogs(err.get()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException(e.getCause());
    }
  }

  /** clientv3 logs its retries as JSON lines on stderr; what the user reads is the rest. */
  static String withoutClientLogs(String stderr) {
    return stderr
        .lines()
        .filter(l -> !l.startsWith("{\"level\""))
        .collect(Collectors.joining("\n"));
  }

  private static CompletableFuture<String> drain(java.io.InputStream s) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return new String(s.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
  }
}
