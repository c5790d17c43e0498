import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The write load of bench/cluster-compare.sh's failover measurement, run as a single-file program
 * on etchctl's class path: {@code java -cp ... bench/FailoverProbe.java STOP_FILE TIMEOUT_MS
 * PAUSE_MS ENDPOINT...}. One writer thread per ENDPOINT argument (repeat an endpoint for more),
 * each on its own gRPC connection, puts its own key in a loop, each put with a deadline of
 * TIMEOUT_MS, PAUSE_MS apart, until STOP_FILE exists.
 *
 * <p>One line per put on stdout: {@code start_us end_us rc writer code}, times in microseconds
 * since the epoch (the clock the script's kill time is read from), rc 0 for success and 1 for a
 * failure, code the gRPC status. A long-lived connection per writer, unlike an etcdctl process per
 * put, keeps process start (most of a second on a busy machine) out of the measurement.
 */
public final class FailoverProbe {
  public static void main(String[] args) throws InterruptedException {
    if (args.length < 4) {
      System.err.println("usage: FailoverProbe STOP_FILE TIMEOUT_MS PAUSE_MS ENDPOINT...");
      System.exit(2);
    }
    Path stop = Path.of(args[0]);
    long timeoutMs = Long.parseLong(args[1]);
    long pauseMs = Long.parseLong(args[2]);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    List<ManagedChannel> channels = new ArrayList<>();
    List<Thread> writers = new ArrayList<>();
    for (int i = 3; i < args.length; i++) {
      URI u = URI.create(args[i]);
      ManagedChannel ch =
          NettyChannelBuilder.forAddress(u.getHost(), u.getPort())
              .usePlaintext()
              .disableRetry() // a retry would hide the failure being timed
              .build();
      channels.add(ch);
      int id = i - 2;
      Thread t = new Thread(() -> write(id, ch, stop, timeoutMs, pauseMs, out), "writer-" + id);
      writers.add(t);
      t.start();
    }
    for (Thread t : writers) {
      t.join();
    }
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
  }

  private static void write(
      int id, ManagedChannel ch, Path stop, long timeoutMs, long pauseMs, PrintStream out) {
    KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
    ByteString key = ByteString.copyFromUtf8("failover/w" + id);
    for (long n = 0; !Files.exists(stop); n++) {
      long start = micros();
      String code = "OK";
      try {
        kv.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)
            .put(
                PutRequest.newBuilder()
                    .setKey(key)
                    .setValue(ByteString.copyFromUtf8(Long.toString(n)))
                    .build());
      } catch (StatusRuntimeException e) {
        code = e.getStatus().getCode().name();
      }
      long end = micros();
      out.println(start + " " + end + " " + ("OK".equals(code) ? 0 : 1) + " " + id + " " + code);
      try {
        Thread.sleep(pauseMs);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static long micros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }
}
