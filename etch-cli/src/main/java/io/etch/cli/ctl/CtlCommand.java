package io.etch.cli.ctl;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.mvccpb.KeyValue;
import io.etch.cli.Etchctl;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** An etcdctl command: global flags, the output format, and a client to the endpoints. */
abstract class CtlCommand implements Callable<Integer> {
  @Mixin Global global;
  @Spec CommandSpec spec;

  Global.Settings s;
  PrintWriter out;
  BufferedReader in;
  private final List<Client> clients = new ArrayList<>();

  @Override
  public final Integer call() throws Exception {
    Etchctl root = (Etchctl) spec.root().userObject();
    s = global.resolve(root.env());
    out = spec.commandLine().getOut();
    in = root.stdin();
    try {
      return run();
    } finally {
      out.flush();
      for (Client c : clients) {
        c.close();
      }
    }
  }

  abstract int run() throws Exception;

  String format() {
    return s.writeOut();
  }

  /**
   * A client of all {@code --endpoints}, as etcdctl 3.4's balancer: calls go to the endpoints that
   * are up, round robin, so a command succeeds while any endpoint answers.
   */
  Client client() {
    if (balanced == null) {
      balanced = connect(s.endpoints());
    }
    return balanced;
  }

  private Client balanced;

  /** A client of one endpoint (commands that visit each endpoint: endpoint status, health...). */
  Client connect(String endpoint) {
    return connect(List.of(endpoint));
  }

  private Client connect(List<String> endpoints) {
    String user = s.user();
    String password = s.password();
    if (user != null && password == null) {
      int colon = user.indexOf(':');
      if (colon < 0) {
        out.print("Password: ");
        out.flush();
        try {
          String line = in.readLine();
          password = line == null ? "" : line;
        } catch (IOException e) {
          throw new CtlException(CtlException.EXIT_ERROR, e.getMessage());
        }
      } else {
        password = user.substring(colon + 1);
        user = user.substring(0, colon);
      }
    }
    Client c = new Client(endpoints, s, user, password);
    clients.add(c);
    return c;
  }

  static CtlException badArgs(String message) {
    return new CtlException(CtlException.EXIT_BAD_ARGS, message);
  }

  // ---- shared printing (etcdctl's printer_simple.go / printer_fields.go shapes) ----

  String text(ByteString b) {
    return s.hex() ? hex(b) : b.toStringUtf8();
  }

  static String hex(ByteString b) {
    StringBuilder sb = new StringBuilder();
    for (byte x : b.toByteArray()) {
      sb.append("\\x").append(HexFormat.of().toHexDigits(x));
    }
    return sb.toString();
  }

  /** printKV: key then value, each on its line. */
  void printKv(KeyValue kv, boolean valueOnly) {
    if (!valueOnly) {
      out.println(text(kv.getKey()));
    }
    out.println(text(kv.getValue()));
  }

  void fieldsHeader(ResponseHeader h) {
    out.println("\"ClusterID\" : " + Go.u(h.getClusterId()));
    out.println("\"MemberID\" : " + Go.u(h.getMemberId()));
    out.println("\"Revision\" : " + h.getRevision());
    out.println("\"RaftTerm\" : " + Go.u(h.getRaftTerm()));
  }

  void fieldsKv(String pfx, KeyValue kv) {
    out.println("\"" + pfx + "Key\" : " + Go.quote(kv.getKey()));
    out.println("\"" + pfx + "CreateRevision\" : " + kv.getCreateRevision());
    out.println("\"" + pfx + "ModRevision\" : " + kv.getModRevision());
    out.println("\"" + pfx + "Version\" : " + kv.getVersion());
    out.println("\"" + pfx + "Value\" : " + Go.quote(kv.getValue()));
    out.println("\"" + pfx + "Lease\" : " + kv.getLease());
  }

  void json(Message m) {
    out.println(Go.message(m));
  }

  void json(Object v) {
    out.println(Go.raw(v));
  }

  /** The protobuf format: the response's wire bytes. */
  void protobuf(Message m) {
    out.flush();
    try {
      java.io.OutputStream os = ((Etchctl) spec.root().userObject()).rawOut();
      m.writeTo(os);
      os.flush();
    } catch (IOException e) {
      throw new CtlException(CtlException.EXIT_IO, e.getMessage());
    }
  }

  /** Formats etcdctl supports only for some commands. */
  CtlException unsupported(String what) {
    return new CtlException(CtlException.EXIT_BAD_FEATURE, what);
  }

  static long parseHexId(String s, String what) {
    try {
      return Long.parseUnsignedLong(s, 16);
    } catch (NumberFormatException e) {
      throw badArgs(what);
    }
  }
}
