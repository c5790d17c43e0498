package io.etch.server.lock;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** etcdctl (API v3) as a separate process, for lock and election tests that kill it. */
public final class Procs {
  private Procs() {}

  /** Starts {@code etcdctl --endpoints=url args...}, stdout to {@code out} (or discarded). */
  public static Process etcdctl(String url, Path out, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints=" + url));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("ETCDCTL_API", "3");
    pb.redirectErrorStream(true);
    if (out != null) {
      pb.redirectOutput(out.toFile());
    } else {
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    }
    return pb.start();
  }

  /** SIGKILL to the process and everything it started (an exec-form command's shell). */
  public static void killHard(Process p) throws InterruptedException {
    List<ProcessHandle> kids = p.descendants().toList();
    p.destroyForcibly();
    p.waitFor();
    kids.forEach(ProcessHandle::destroyForcibly);
  }
}
