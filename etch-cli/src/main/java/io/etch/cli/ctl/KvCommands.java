package io.etch.cli.ctl;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.CompactionRequest;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.DeleteRangeResponse;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.PutResponse;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.api.mvccpb.KeyValue;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** get, put, del and compaction: etcdctl's key-value commands. */
final class KvCommands {
  private KvCommands() {}

  static ByteString bytes(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  /** clientv3.GetPrefixRangeEnd: the key after every key with this prefix. */
  static ByteString prefixEnd(ByteString key) {
    byte[] b = key.toByteArray();
    for (int i = b.length - 1; i >= 0; i--) {
      if ((b[i] & 0xff) < 0xff) {
        b[i]++;
        return ByteString.copyFrom(b, 0, i + 1);
      }
    }
    return ByteString.copyFrom(new byte[] {0});
  }

  static final ByteString ZERO = ByteString.copyFrom(new byte[] {0});

  /** Sets key and range end the way clientv3's WithPrefix / WithFromKey do. */
  record Range(ByteString key, ByteString end) {
    static Range of(List<String> args, boolean prefix, boolean fromKey) {
      ByteString key = bytes(args.get(0));
      ByteString end = args.size() > 1 ? bytes(args.get(1)) : ByteString.EMPTY;
      if (prefix) {
        if (key.isEmpty()) {
          return new Range(ZERO, ZERO);
        }
        return new Range(key, prefixEnd(key));
      }
      if (fromKey) {
        return new Range(key.isEmpty() ? ZERO : key, ZERO);
      }
      return new Range(key, end);
    }
  }

  @Command(name = "get", description = "Gets the key or a range of keys")
  static final class Get extends CtlCommand {
    @Option(names = "--consistency", description = "Linearizable(l) or Serializable(s)")
    String consistency = "l";

    @Option(names = "--order", description = "Order of results; ASCEND or DESCEND")
    String order = "";

    @Option(
        names = "--sort-by",
        description = "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION")
    String sortBy = "";

    @Option(names = "--limit", description = "Maximum number of results")
    long limit;

    @Option(names = "--prefix", arity = "0..1", fallbackValue = "true")
    boolean prefix;

    @Option(names = "--from-key", arity = "0..1", fallbackValue = "true")
    boolean fromKey;

    @Option(names = "--rev", description = "Specify the kv revision")
    long rev;

    @Option(names = "--keys-only", arity = "0..1", fallbackValue = "true")
    boolean keysOnly;

    @Option(names = "--count-only", arity = "0..1", fallbackValue = "true")
    boolean countOnly;

    @Option(names = "--print-value-only", arity = "0..1", fallbackValue = "true")
    boolean printValueOnly;

    @Parameters List<String> args = new ArrayList<>();

    RangeRequest request() {
      if (args.isEmpty()) {
        throw badArgs(
            "get command needs one argument as key and an optional argument as range_end");
      }
      if (prefix && fromKey) {
        throw badArgs("`--prefix` and `--from-key` cannot be set at the same time, choose one");
      }
      if (prefix && args.size() > 1) {
        throw badArgs("too many arguments, only accept one argument when `--prefix` is set.");
      }
      if (fromKey && args.size() > 1) {
        throw badArgs("too many arguments, only accept one argument when `--from-key` is set.");
      }
      Range r = Range.of(args, prefix, fromKey);
      RangeRequest.Builder b =
          RangeRequest.newBuilder()
              .setKey(r.key())
              .setRangeEnd(r.end())
              .setLimit(limit)
              .setRevision(rev)
              .setKeysOnly(keysOnly)
              .setCountOnly(countOnly);
      switch (consistency.toLowerCase(Locale.ROOT)) {
        case "l" -> {}
        case "s" -> b.setSerializable(true);
        default ->
            throw new CtlException(
                CtlException.EXIT_BAD_FEATURE, "unknown consistency flag " + Go.quote(consistency));
      }
      RangeRequest.SortOrder so =
          switch (order.toUpperCase(Locale.ROOT)) {
            case "ASCEND" -> RangeRequest.SortOrder.ASCEND;
            case "DESCEND" -> RangeRequest.SortOrder.DESCEND;
            case "" -> RangeRequest.SortOrder.NONE;
            default ->
                throw new CtlException(CtlException.EXIT_BAD_FEATURE, "bad sort order " + order);
          };
      RangeRequest.SortTarget st =
          switch (sortBy.toUpperCase(Locale.ROOT)) {
            case "CREATE" -> RangeRequest.SortTarget.CREATE;
            case "KEY", "" -> RangeRequest.SortTarget.KEY;
            case "MODIFY" -> RangeRequest.SortTarget.MOD;
            case "VALUE" -> RangeRequest.SortTarget.VALUE;
            case "VERSION" -> RangeRequest.SortTarget.VERSION;
            default ->
                throw new CtlException(CtlException.EXIT_BAD_FEATURE, "bad sort target " + sortBy);
          };
      // clientv3.WithSort: ascending by key is the server's own order.
      if (st == RangeRequest.SortTarget.KEY && so == RangeRequest.SortOrder.ASCEND) {
        so = RangeRequest.SortOrder.NONE;
      }
      return b.setSortOrder(so).setSortTarget(st).build();
    }

    @Override
    int run() {
      RangeRequest req = request();
      if (printValueOnly && !format().equals("simple")) {
        throw badArgs("print-value-only is only for `--write-out=simple`");
      }
      RangeResponse r;
      try {
        r = client().kv().range(req);
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      print(this, r, printValueOnly);
      return 0;
    }

    static void print(CtlCommand c, RangeResponse r, boolean valueOnly) {
      switch (c.format()) {
        case "json" -> c.json(r);
        case "protobuf" -> c.protobuf(r);
        case "fields" -> {
          c.fieldsHeader(r.getHeader());
          for (KeyValue kv : r.getKvsList()) {
            c.fieldsKv("", kv);
          }
          c.out.println("\"More\" : " + r.getMore());
          c.out.println("\"Count\" : " + r.getCount());
        }
        case "table" -> throw c.unsupported("table not supported as output format");
        default -> {
          for (KeyValue kv : r.getKvsList()) {
            c.printKv(kv, valueOnly);
          }
        }
      }
    }
  }

  @Command(name = "put", description = "Puts the given key into the store")
  static final class Put extends CtlCommand {
    @Option(names = "--lease", description = "lease ID (in hexadecimal) to attach to the key")
    String lease = "0";

    @Option(names = "--prev-kv", arity = "0..1", fallbackValue = "true")
    boolean prevKv;

    @Option(names = "--ignore-value", arity = "0..1", fallbackValue = "true")
    boolean ignoreValue;

    @Option(names = "--ignore-lease", arity = "0..1", fallbackValue = "true")
    boolean ignoreLease;

    @Parameters List<String> args = new ArrayList<>();

    PutRequest request(java.io.BufferedReader stdin) {
      if (args.isEmpty()) {
        throw badArgs("put command needs 1 argument and input from stdin or 2 arguments");
      }
      if (ignoreValue && args.size() > 1) {
        throw badArgs("put command needs only 1 argument when 'ignore-value' is set");
      }
      String value = "";
      if (!ignoreValue) {
        if (args.size() > 1) {
          value = args.get(1);
        } else if (stdin != null) {
          try {
            StringBuilder sb = new StringBuilder();
            char[] buf = new char[8192];
            int n;
            while ((n = stdin.read(buf)) > 0) {
              sb.append(buf, 0, n);
            }
            value = sb.toString();
          } catch (IOException e) {
            throw badArgs("put command needs 1 argument and input from stdin or 2 arguments");
          }
          if (value.isEmpty()) {
            throw badArgs("put command needs 1 argument and input from stdin or 2 arguments");
          }
        } else {
          throw badArgs("put command needs 1 argument and input from stdin or 2 arguments");
        }
      }
      long id;
      try {
        id = Long.parseLong(lease, 16);
      } catch (NumberFormatException e) {
        throw badArgs(
            "bad lease ID (strconv.ParseInt: parsing "
                + Go.quote(lease)
                + ": invalid syntax), expecting ID in Hex");
      }
      return PutRequest.newBuilder()
          .setKey(bytes(args.get(0)))
          .setValue(bytes(value))
          .setLease(id)
          .setPrevKv(prevKv)
          .setIgnoreValue(ignoreValue)
          .setIgnoreLease(ignoreLease)
          .build();
    }

    @Override
    int run() {
      PutRequest req = request(in);
      PutResponse r;
      try {
        r = client().kv().put(req);
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      print(this, r);
      return 0;
    }

    static void print(CtlCommand c, PutResponse r) {
      switch (c.format()) {
        case "json" -> c.json(r);
        case "protobuf" -> c.protobuf(r);
        case "fields" -> {
          c.fieldsHeader(r.getHeader());
          if (r.hasPrevKv()) {
            c.fieldsKv("Prev", r.getPrevKv());
          }
        }
        case "table" -> throw c.unsupported("table not supported as output format");
        default -> {
          c.out.println("OK");
          if (r.hasPrevKv()) {
            c.printKv(r.getPrevKv(), false);
          }
        }
      }
    }
  }

  @Command(
      name = "del",
      description = "Removes the specified key or range of keys [key, range_end)")
  static final class Del extends CtlCommand {
    @Option(names = "--prefix", arity = "0..1", fallbackValue = "true")
    boolean prefix;

    @Option(names = "--prev-kv", arity = "0..1", fallbackValue = "true")
    boolean prevKv;

    @Option(names = "--from-key", arity = "0..1", fallbackValue = "true")
    boolean fromKey;

    @Parameters List<String> args = new ArrayList<>();

    DeleteRangeRequest request() {
      if (args.isEmpty()) {
        throw badArgs(
            "del command needs one argument as key and an optional argument as range_end");
      }
      if (prefix && fromKey) {
        throw badArgs("`--prefix` and `--from-key` cannot be set at the same time, choose one");
      }
      if (prefix && args.size() > 1) {
        throw badArgs("too many arguments, only accept one argument when `--prefix` is set.");
      }
      if (fromKey && args.size() > 1) {
        throw badArgs("too many arguments, only accept one argument when `--from-key` is set.");
      }
      Range r = Range.of(args, prefix, fromKey);
      return DeleteRangeRequest.newBuilder()
          .setKey(r.key())
          .setRangeEnd(r.end())
          .setPrevKv(prevKv)
          .build();
    }

    @Override
    int run() {
      DeleteRangeRequest req = request();
      DeleteRangeResponse r;
      try {
        r = client().kv().deleteRange(req);
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      print(this, r);
      return 0;
    }

    static void print(CtlCommand c, DeleteRangeResponse r) {
      switch (c.format()) {
        case "json" -> c.json(r);
        case "protobuf" -> c.protobuf(r);
        case "fields" -> {
          c.fieldsHeader(r.getHeader());
          c.out.println("\"Deleted\" : " + r.getDeleted());
          for (KeyValue kv : r.getPrevKvsList()) {
            c.fieldsKv("Prev", kv);
          }
        }
        case "table" -> throw c.unsupported("table not supported as output format");
        default -> {
          c.out.println(r.getDeleted());
          for (KeyValue kv : r.getPrevKvsList()) {
            c.printKv(kv, false);
          }
        }
      }
    }
  }

  @Command(name = "compaction", description = "Compacts the event history in etcd")
  static final class Compaction extends CtlCommand {
    @Option(names = "--physical", arity = "0..1", fallbackValue = "true")
    boolean physical;

    @Parameters List<String> args = new ArrayList<>();

    @Override
    int run() {
      if (args.size() != 1) {
        throw badArgs("compaction command needs 1 argument");
      }
      long rev;
      try {
        rev = Long.parseLong(args.get(0));
      } catch (NumberFormatException e) {
        throw new CtlException(
            CtlException.EXIT_ERROR,
            "strconv.ParseInt: parsing " + Go.quote(args.get(0)) + ": invalid syntax");
      }
      try {
        client()
            .kv()
            .compact(CompactionRequest.newBuilder().setRevision(rev).setPhysical(physical).build());
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
      out.println("compacted revision " + rev);
      return 0;
    }
  }
}
