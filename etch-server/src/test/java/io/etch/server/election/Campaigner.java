package io.etch.server.election;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.election.CampaignResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A campaigner in its own JVM, so that a test can kill it with SIGKILL: grants a lease of the given
 * TTL, keeps it alive, campaigns through the Election service, prints {@code leader <key>} once it
 * leads, and then lives until killed.
 */
public final class Campaigner {
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String name = args[1];
    String value = args[2];
    long ttl = Long.parseLong(args[3]);
    Client c = Client.builder().endpoints(url).build();
    long lease = c.getLeaseClient().grant(ttl).get().getID();
    c.getLeaseClient()
        .keepAlive(
            lease,
            new StreamObserver<LeaseKeepAliveResponse>() {
              @Override
              public void onNext(LeaseKeepAliveResponse r) {}

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    System.out.println("campaigning " + Long.toHexString(lease));
    System.out.flush();
    CampaignResponse r =
        c.getElectionClient()
            .campaign(ByteSequence.from(name, UTF_8), lease, ByteSequence.from(value, UTF_8))
            .get();
    System.out.println("leader " + r.getLeader().getKey().toString(UTF_8));
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }

  /** Starts one in a child JVM with this test's class path, stdout to {@code out}. */
  static Process start(Path out, String url, String name, String value, long ttl)
      throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-Xshare:auto"));
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            Campaigner.class.getName(),
            url,
            name,
            value,
            Long.toString(ttl)));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
  }
}
