package io.etch.cli.ctl;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.Compare;
import io.etch.api.etcdserverpb.LeaseGrantRequest;
import io.etch.api.etcdserverpb.LeaseKeepAliveRequest;
import io.etch.api.etcdserverpb.LeaseKeepAliveResponse;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.ResponseOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.etcdserverpb.TxnResponse;
import io.etch.api.etcdserverpb.WatchCreateRequest;
import io.etch.api.etcdserverpb.WatchRequest;
import io.etch.api.etcdserverpb.WatchResponse;
import io.etch.api.mvccpb.Event;
import io.etch.api.v3electionpb.CampaignRequest;
import io.etch.api.v3electionpb.LeaderRequest;
import io.etch.api.v3electionpb.LeaderResponse;
import io.etch.api.v3lockpb.LockRequest;
import io.etch.api.v3lockpb.UnlockRequest;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** txn, watch, lock and elect. */
final class TxnWatchCommands {
  private TxnWatchCommands() {}

  /** etcdctl's argify: whitespace-separated words, double-quoted words unquoted Go-style. */
  static List<String> argify(String line) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"|(\\S+)").matcher(line);
    while (m.find()) {
      out.add(m.group(1) != null ? unquote(m.group(1)) : m.group(2));
    }
    return out;
  }

  static String unquote(String s) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        char n = s.charAt(++i);
        switch (n) {
          case 'n' -> sb.append('\n');
          case 't' -> sb.append('\t');
          case 'r' -> sb.append('\r');
          case '0' -> sb.append('\0');
          default -> sb.append(n);
        }
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  @Command(name = "txn", description = "Txn processes all the requests in one transaction")
  static final class Txn extends CtlCommand {
    @Option(
        names = {"-i", "--interactive"},
        arity = "0..1",
        fallbackValue = "true")
    boolean interactive;

    @Override
    int run() throws IOException {
      TxnRequest.Builder b = TxnRequest.newBuilder();
      if (interactive) {
        out.println("compares:");
        out.flush();
      }
      for (String line : lines()) {
        b.addCompare(compare(line));
      }
      if (interactive) {
        out.println("success requests (get, put, del):");
        out.flush();
      }
      for (String line : lines()) {
        b.addSuccess(op(line));
      }
      if (interactive) {
        out.println("failure requests (get, put, del):");
        out.flush();
      }
      for (String line : lines()) {
        b.addFailure(op(line));
      }
      TxnResponse r;
      try {
        r = client().kv().txn(b.build());
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      switch (format()) {
        case "json" -> json(r);
        case "protobuf" -> protobuf(r);
        case "fields" -> {
          fieldsHeader(r.getHeader());
          out.println("\"Succeeded\" : " + r.getSucceeded());
          for (ResponseOp op : r.getResponsesList()) {
            switch (op.getResponseCase()) {
              case RESPONSE_PUT -> KvCommands.Put.print(this, op.getResponsePut());
              case RESPONSE_RANGE -> KvCommands.Get.print(this, op.getResponseRange(), false);
              case RESPONSE_DELETE_RANGE -> KvCommands.Del.print(this, op.getResponseDeleteRange());
              default -> {}
            }
          }
        }
        case "table" -> throw unsupported("table not supported as output format");
        default -> {
          out.println(r.getSucceeded() ? "SUCCESS" : "FAILURE");
          for (ResponseOp op : r.getResponsesList()) {
            out.println();
            switch (op.getResponseCase()) {
              case RESPONSE_PUT -> KvCommands.Put.print(this, op.getResponsePut());
              case RESPONSE_RANGE -> KvCommands.Get.print(this, op.getResponseRange(), false);
              case RESPONSE_DELETE_RANGE -> KvCommands.Del.print(this, op.getResponseDeleteRange());
              default -> {}
            }
          }
        }
      }
      return 0;
    }

    /** Lines up to an empty one; end of input before it is an error, as etcdctl's. */
    private List<String> lines() throws IOException {
      List<String> l = new ArrayList<>();
      while (true) {
        String line = in.readLine();
        if (line == null) {
          throw new CtlException(CtlException.EXIT_INVALID_INPUT, "EOF");
        }
        if (line.isEmpty()) {
          return l;
        }
        l.add(line);
      }
    }

    private static final Pattern CMP =
        Pattern.compile(
            "^(\\w+)\\(\"((?:[^\"\\\\]|\\\\.)*)\"\\) (\\S+) \"((?:[^\"\\\\]|\\\\.)*)\"$");

    static Compare compare(String line) {
      Matcher m = CMP.matcher(line.trim());
      if (!line.contains("(")) {
        throw new CtlException(CtlException.EXIT_BAD_ARGS, "malformed comparison: " + line);
      }
      if (!m.matches()) {
        throw new CtlException(CtlException.EXIT_BAD_ARGS, "malformed comparison: " + line);
      }
      String target = m.group(1);
      String key = unquote(m.group(2));
      String op = m.group(3);
      String val = unquote(m.group(4));
      Compare.Builder c = Compare.newBuilder().setKey(KvCommands.bytes(key));
      c.setResult(
          switch (op) {
            case "=" -> Compare.CompareResult.EQUAL;
            case "!=" -> Compare.CompareResult.NOT_EQUAL;
            case ">" -> Compare.CompareResult.GREATER;
            case "<" -> Compare.CompareResult.LESS;
            default ->
                throw new CtlException(CtlException.EXIT_BAD_ARGS, "Unknown compare type " + op);
          });
      try {
        switch (target) {
          case "ver", "version" ->
              c.setTarget(Compare.CompareTarget.VERSION).setVersion(Long.parseLong(val));
          case "c", "create" ->
              c.setTarget(Compare.CompareTarget.CREATE).setCreateRevision(Long.parseLong(val));
          case "m", "mod" ->
              c.setTarget(Compare.CompareTarget.MOD).setModRevision(Long.parseLong(val));
          case "val", "value" ->
              c.setTarget(Compare.CompareTarget.VALUE).setValue(KvCommands.bytes(val));
          case "lease" ->
              c.setTarget(Compare.CompareTarget.LEASE).setLease(Long.parseLong(val, 16));
          default ->
              throw new CtlException(
                  CtlException.EXIT_BAD_ARGS,
                  "malformed comparison: " + line + " (unknown target " + target + ")");
        }
      } catch (NumberFormatException e) {
        throw new CtlException(
            CtlException.EXIT_BAD_ARGS,
            "malformed comparison: "
                + line
                + " (strconv.ParseInt: parsing "
                + Go.quote(val)
                + ": invalid syntax)");
      }
      return c.build();
    }

    RequestOp op(String line) {
      List<String> words = argify(line);
      if (words.isEmpty()) {
        throw new CtlException(CtlException.EXIT_BAD_ARGS, "empty request");
      }
      String[] rest = words.subList(1, words.size()).toArray(new String[0]);
      switch (words.get(0)) {
        case "get" -> {
          KvCommands.Get g = new KvCommands.Get();
          new CommandLine(g).parseArgs(rest);
          RangeRequest r = g.request();
          return RequestOp.newBuilder().setRequestRange(r).build();
        }
        case "put" -> {
          KvCommands.Put p = new KvCommands.Put();
          new CommandLine(p).parseArgs(rest);
          if (p.args.size() < 2 && !p.ignoreValue) {
            throw badArgs("put command needs 1 argument and input from stdin or 2 arguments");
          }
          return RequestOp.newBuilder().setRequestPut(p.request(null)).build();
        }
        case "del", "delete" -> {
          KvCommands.Del d = new KvCommands.Del();
          new CommandLine(d).parseArgs(rest);
          return RequestOp.newBuilder().setRequestDeleteRange(d.request()).build();
        }
        default ->
            throw new CtlException(CtlException.EXIT_BAD_ARGS, "unknown request: " + words.get(0));
      }
    }
  }

  @Command(name = "watch", description = "Watches events stream on keys or prefixes")
  static final class Watch extends CtlCommand {
    @Option(names = "--prefix", arity = "0..1", fallbackValue = "true")
    boolean prefix;

    @Option(names = "--rev")
    long rev;

    @Option(names = "--prev-kv", arity = "0..1", fallbackValue = "true")
    boolean prevKv;

    @Option(
        names = {"-i", "--interactive"},
        arity = "0..1",
        fallbackValue = "true")
    boolean interactive;

    @Parameters List<String> args = new ArrayList<>();

    /**
     * A stream's end, tagged with the number of the stream it ended, so a late one is told from the
     * current stream's (an error can arrive before {@code watch()} has even returned its stream).
     */
    private record Ended(int stream, Throwable error) {}

    /** Opens watch stream number {@code n}, whose responses and end go to {@code q}. */
    private StreamObserver<WatchRequest> open(LinkedBlockingQueue<Object> q, int n) {
      return client()
          .watch()
          .watch(
              new StreamObserver<>() {
                @Override
                public void onNext(WatchResponse v) {
                  q.add(v);
                }

                @Override
                public void onError(Throwable t) {
                  q.add(new Ended(n, t));
                }

                @Override
                public void onCompleted() {
                  q.add(new CtlException(1, "watch is canceled by the server"));
                }
              });
    }

    /**
     * clientv3's rule for a broken watch stream: Unavailable (the endpoint went away, or no leader)
     * and Internal are retried on a new stream; anything else ends the watch.
     */
    static boolean resumable(Throwable t) {
      io.grpc.Status.Code c = io.grpc.Status.fromThrowable(t).getCode();
      return c == io.grpc.Status.Code.UNAVAILABLE || c == io.grpc.Status.Code.INTERNAL;
    }

    @Override
    int run() throws Exception {
      LinkedBlockingQueue<Object> q = new LinkedBlockingQueue<>();
      int streams = 0;
      StreamObserver<WatchRequest> send = open(q, streams);
      // Non-interactive: one watch, which survives its stream as clientv3's watcher does: a new
      // stream (on another endpoint when there are several) resumes at the revision after the
      // last one seen, so no event is lost or printed twice.
      long resumeAt = rev;
      long backoffMs = 0;
      if (interactive) {
        StreamObserver<WatchRequest> first = send;
        Thread reader =
            new Thread(
                () -> {
                  try {
                    String line;
                    while ((line = in.readLine()) != null) {
                      List<String> w = argify(line);
                      if (w.isEmpty()) {
                        continue;
                      }
                      if (!w.get(0).equals("watch")) {
                        q.add(
                            new CtlException(1, "Invalid command " + w.get(0) + " (" + line + ")"));
                        return;
                      }
                      Watch sub = new Watch();
                      new CommandLine(sub).parseArgs(w.subList(1, w.size()).toArray(new String[0]));
                      first.onNext(sub.create(sub.rev));
                    }
                  } catch (Exception e) {
                    q.add(new CtlException(1, e.getMessage()));
                  }
                },
                "etchctl-watch-input");
        reader.setDaemon(true);
        reader.start();
      } else {
        send.onNext(create(resumeAt));
      }
      try {
        while (true) {
          Object o = q.take();
          if (o instanceof CtlException c) {
            throw c;
          }
          if (o instanceof Ended e) {
            if (e.stream() != streams) {
              continue;
            }
            if (interactive || !resumable(e.error())) {
              throw Client.error(e.error());
            }
            backoffMs = Math.min(1000, Math.max(100, backoffMs * 2));
            Thread.sleep(backoffMs);
            send = open(q, ++streams);
            send.onNext(create(resumeAt));
            continue;
          }
          WatchResponse r = (WatchResponse) o;
          backoffMs = 0;
          if (r.getCreated() && resumeAt == 0) {
            resumeAt = r.getHeader().getRevision() + 1; // "from now" is fixed at the creation
          }
          if (r.getEventsCount() > 0) {
            resumeAt = r.getEvents(r.getEventsCount() - 1).getKv().getModRevision() + 1;
          }
          if (r.getCreated() || r.getEventsCount() == 0 && !r.getCanceled()) {
            continue;
          }
          if (r.getCanceled()) {
            throw new CtlException(
                1,
                r.getCompactRevision() > 0
                    ? "watch is canceled by the server"
                    : r.getCancelReason().isEmpty()
                        ? "watch is canceled by the server"
                        : r.getCancelReason());
          }
          print(r);
          out.flush();
        }
      } finally {
        send.onCompleted();
      }
    }

    WatchRequest create(long startRevision) {
      if (args.isEmpty() || args.size() > 2) {
        throw badArgs(
            "watch in non-interactive mode requires one or two arguments as key or prefix, with range end");
      }
      KvCommands.Range rg = KvCommands.Range.of(args, prefix, false);
      return WatchRequest.newBuilder()
          .setCreateRequest(
              WatchCreateRequest.newBuilder()
                  .setKey(rg.key())
                  .setRangeEnd(rg.end())
                  .setStartRevision(startRevision)
                  .setPrevKv(prevKv))
          .build();
    }

    void print(WatchResponse r) {
      switch (format()) {
        case "json" -> {
          List<Object> evs = new ArrayList<>();
          for (Event e : r.getEventsList()) {
            evs.add(new Go.RawJson(Go.message(e)));
          }
          json(
              Go.Json.object()
                  .field("Header", r.getHeader())
                  .field("Events", evs)
                  .field("CompactRevision", r.getCompactRevision())
                  .field("Canceled", r.getCanceled())
                  .field("Created", r.getCreated()));
        }
        case "protobuf" -> protobuf(r);
        case "fields" -> {
          fieldsHeader(r.getHeader());
          for (Event e : r.getEventsList()) {
            out.println("\"Type\" : " + e.getType().name());
            if (e.hasPrevKv()) {
              fieldsKv("Prev", e.getPrevKv());
            }
            fieldsKv("", e.getKv());
          }
        }
        default -> {
          for (Event e : r.getEventsList()) {
            out.println(e.getType().name());
            if (e.hasPrevKv()) {
              printKv(e.getPrevKv(), false);
            }
            printKv(e.getKv(), false);
          }
        }
      }
    }
  }

  /** A lease kept alive in the background, as clientv3's concurrency.Session. */
  static final class Session implements AutoCloseable {
    final long lease;
    private final Client c;
    private final StreamObserver<LeaseKeepAliveRequest> send;
    private final Thread ticker;

    Session(Client c, long ttl) {
      this.c = c;
      try {
        lease = c.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttl).build()).getID();
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      send =
          c.leaseAsync()
              .leaseKeepAlive(
                  new StreamObserver<LeaseKeepAliveResponse>() {
                    @Override
                    public void onNext(LeaseKeepAliveResponse v) {}

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                  });
      ticker =
          new Thread(
              () -> {
                try {
                  while (true) {
                    synchronized (this) {
                      send.onNext(LeaseKeepAliveRequest.newBuilder().setID(lease).build());
                    }
                    Thread.sleep(Math.max(200, ttl * 1000 / 3));
                  }
                } catch (InterruptedException | RuntimeException done) {
                  // closed
                }
              },
              "etchctl-keepalive");
      ticker.setDaemon(true);
      ticker.start();
    }

    @Override
    public void close() {
      ticker.interrupt();
      try {
        send.onCompleted();
      } catch (RuntimeException ignored) {
        // already closed
      }
      try {
        c.lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(lease).build());
      } catch (StatusRuntimeException ignored) {
        // expired already
      }
    }
  }

  @Command(name = "lock", description = "Acquires a named lock")
  static final class Lock extends CtlCommand {
    @Option(names = "--ttl", description = "timeout for session")
    long ttl = 10;

    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() throws Exception {
      if (args.isEmpty()) {
        throw badArgs("lock takes a lock name argument and an optional command to execute.");
      }
      Client c = client();
      try (Session session = new Session(c, ttl)) {
        io.etch.api.v3lockpb.LockResponse r;
        try {
          r =
              c.lock()
                  .lock(
                      LockRequest.newBuilder()
                          .setName(KvCommands.bytes(args.get(0)))
                          .setLease(session.lease)
                          .build());
        } catch (StatusRuntimeException e) {
          throw Client.error(e);
        }
        try {
          if (args.size() > 1) {
            ProcessBuilder pb = new ProcessBuilder(args.subList(1, args.size()));
            pb.environment().put("ETCD_LOCK_KEY", r.getKey().toStringUtf8());
            pb.environment().put("ETCD_LOCK_REV", String.valueOf(r.getHeader().getRevision()));
            pb.redirectErrorStream(false).redirectError(ProcessBuilder.Redirect.INHERIT);
            Process p = pb.start();
            p.getOutputStream().close();
            copy(p.getInputStream());
            int code = p.waitFor();
            if (code != 0) {
              throw new CtlException(1, "exit status " + code);
            }
            return 0;
          }
          out.println(r.getKey().toStringUtf8());
          out.flush();
          new CountDownLatch(1).await();
          return 0;
        } finally {
          try {
            c.lock().unlock(UnlockRequest.newBuilder().setKey(r.getKey()).build());
          } catch (StatusRuntimeException ignored) {
            // the lease revoke releases it too
          }
        }
      }
    }

    private void copy(InputStream is) throws IOException {
      byte[] buf = new byte[8192];
      int n;
      while ((n = is.read(buf)) > 0) {
        out.print(new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8));
      }
      out.flush();
    }
  }

  @Command(name = "elect", description = "Observes and participates in leader election")
  static final class Elect extends CtlCommand {
    @Option(
        names = {"-l", "--listen"},
        arity = "0..1",
        fallbackValue = "true")
    boolean listen;

    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() throws Exception {
      if (args.size() != 1 && args.size() != 2) {
        throw badArgs("elect takes one election name argument and an optional proposal argument.");
      }
      if (listen && args.size() != 1) {
        throw badArgs("--listen takes election name only");
      }
      if (!listen && args.size() != 2) {
        throw badArgs("no proposal argument but -l not set");
      }
      Client c = client();
      ByteString name = KvCommands.bytes(args.get(0));
      if (listen) {
        LinkedBlockingQueue<Object> q = new LinkedBlockingQueue<>();
        c.electionAsync()
            .observe(
                LeaderRequest.newBuilder().setName(name).build(),
                new StreamObserver<LeaderResponse>() {
                  @Override
                  public void onNext(LeaderResponse v) {
                    q.add(v);
                  }

                  @Override
                  public void onError(Throwable t) {
                    q.add(t);
                  }

                  @Override
                  public void onCompleted() {
                    q.add(new CtlException(1, "observing the election ended"));
                  }
                });
        while (true) {
          Object o = q.take();
          if (o instanceof CtlException e) {
            throw e;
          }
          if (o instanceof Throwable t) {
            throw Client.error(t);
          }
          LeaderResponse r = (LeaderResponse) o;
          KvCommands.Get.print(
              this,
              RangeResponse.newBuilder()
                  .setHeader(r.getHeader())
                  .addKvs(r.getKv())
                  .setCount(1)
                  .build(),
              false);
          out.flush();
        }
      }
      try (Session session = new Session(c, 60)) {
        try {
          var won =
              c.election()
                  .campaign(
                      CampaignRequest.newBuilder()
                          .setName(name)
                          .setLease(session.lease)
                          .setValue(KvCommands.bytes(args.get(1)))
                          .build());
          RangeResponse r =
              c.kv().range(RangeRequest.newBuilder().setKey(won.getLeader().getKey()).build());
          KvCommands.Get.print(this, r, false);
          out.flush();
        } catch (StatusRuntimeException e) {
          throw Client.error(e);
        }
        new CountDownLatch(1).await();
        return 0;
      }
    }
  }
}
