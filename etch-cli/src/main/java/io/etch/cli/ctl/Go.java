package io.etch.cli.ctl;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Message;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Go's formatting, as etcdctl's output depends on it: {@code %q} quoting, {@code encoding/json} of
 * gogoproto structs (fields in declaration order, zero values omitted, bytes in base64, enums as
 * numbers, a oneof as its Go wrapper), humanize's byte sizes and time.Duration's text.
 */
final class Go {
  private Go() {}

  /**
   * Fields etch's protos carry that etcd 3.4's structs do not: etcdctl 3.4 never prints them, so
   * neither do we.
   */
  private static final Set<String> NOT_IN_34 =
      Set.of(
          "etcdserverpb.StatusResponse.dbSizeQuota",
          "etcdserverpb.StatusResponse.storageVersion",
          "etcdserverpb.StatusResponse.downgradeInfo",
          "etcdserverpb.HashKVResponse.hash_revision");

  /** Go's strconv.Quote for a byte string (what {@code %q} prints). */
  static String quote(ByteString b) {
    return quote(b.toByteArray());
  }

  static String quote(String s) {
    return quote(s.getBytes(StandardCharsets.UTF_8));
  }

  static String quote(byte[] b) {
    StringBuilder sb = new StringBuilder("\"");
    int i = 0;
    while (i < b.length) {
      int c = b[i] & 0xff;
      int cp;
      int len;
      if (c < 0x80) {
        cp = c;
        len = 1;
      } else {
        int[] dec = decodeUtf8(b, i);
        cp = dec[0];
        len = dec[1];
      }
      if (cp < 0) {
        sb.append(String.format("\\x%02x", c));
        i++;
        continue;
      }
      switch (cp) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case 7 -> sb.append("\\a");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case 11 -> sb.append("\\v");
        default -> {
          if (cp < 0x20 || cp == 0x7f) {
            sb.append(String.format("\\x%02x", cp));
          } else if (cp >= 0x80 && !printable(cp)) {
            sb.append(cp < 0x10000 ? String.format("\\u%04x", cp) : String.format("\\U%08x", cp));
          } else {
            sb.appendCodePoint(cp);
          }
        }
      }
      i += len;
    }
    return sb.append('"').toString();
  }

  private static boolean printable(int cp) {
    int t = Character.getType(cp);
    return t != Character.CONTROL
        && t != Character.FORMAT
        && t != Character.UNASSIGNED
        && t != Character.PRIVATE_USE
        && t != Character.SURROGATE
        && t != Character.LINE_SEPARATOR
        && t != Character.PARAGRAPH_SEPARATOR
        && (t != Character.SPACE_SEPARATOR || cp == ' ');
  }

  /** {code point, length}, or {-1, 1} for an invalid sequence. */
  private static int[] decodeUtf8(byte[] b, int i) {
    int c = b[i] & 0xff;
    int n;
    int cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      cp = c & 0x07;
    } else {
      return new int[] {-1, 1};
    }
    if (i + n > b.length) {
      return new int[] {-1, 1};
    }
    for (int k = 1; k < n; k++) {
      int cc = b[i + k] & 0xff;
      if ((cc & 0xc0) != 0x80) {
        return new int[] {-1, 1};
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
      return new int[] {-1, 1};
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      return new int[] {-1, 1};
    }
    return new int[] {cp, n};
  }

  /** humanize.Bytes: SI units, one decimal below 10. */
  static String bytes(long s) {
    if (s < 10) {
      return s + " B";
    }
    String[] sizes = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    int e = (int) Math.floor(Math.log(s) / Math.log(1000));
    double val = Math.floor(s / Math.pow(1000, e) * 10 + 0.5) / 10;
    return val < 10
        ? String.format("%.1f %s", val, sizes[e])
        : String.format("%.0f %s", val, sizes[e]);
  }

  /** time.Duration.String for a duration in nanoseconds. */
  static String duration(long ns) {
    if (ns == 0) {
      return "0s";
    }
    if (ns < 1000) {
      return ns + "ns";
    }
    if (ns < 1_000_000) {
      return trim(ns / 1e3) + "µs";
    }
    if (ns < 1_000_000_000) {
      return trim(ns / 1e6) + "ms";
    }
    long s = ns / 1_000_000_000;
    long frac = ns % 1_000_000_000;
    String sec = frac == 0 ? "" : ("." + String.format("%09d", frac)).replaceAll("0+$", "");
    if (s < 60) {
      return s + sec + "s";
    }
    long h = s / 3600;
    long m = (s % 3600) / 60;
    return (h > 0 ? h + "h" : "") + m + "m" + (s % 60) + sec + "s";
  }

  private static String trim(double v) {
    String t = String.format("%.9f", v);
    return t.replaceAll("0+$", "").replaceAll("\\.$", "");
  }

  /** A hex lease or member id as {@code %016x}. */
  static String hex16(long id) {
    return String.format("%016x", id);
  }

  // ---- encoding/json ----

  /** A JSON value being built: object members keep their order, as Go struct fields do. */
  static final class Json {
    private final StringBuilder sb = new StringBuilder();

    static Json object() {
      Json j = new Json();
      j.sb.append('{');
      return j;
    }

    Json field(String name, Object value) {
      if (sb.length() > 1) {
        sb.append(',');
      }
      sb.append(str(name)).append(':').append(value instanceof Json j ? j.end() : raw(value));
      return this;
    }

    private boolean ended;

    String end() {
      if (!ended) {
        sb.append('}');
        ended = true;
      }
      return sb.toString();
    }

    @Override
    public String toString() {
      return end();
    }
  }

  /** A Java value as Go's encoding/json prints it (Json, String, Number, Boolean, List). */
  static String raw(Object v) {
    if (v instanceof Json j) {
      return j.end();
    }
    if (v instanceof RawJson r) {
      return r.text();
    }
    if (v instanceof String s) {
      return str(s);
    }
    if (v instanceof List<?> l) {
      List<String> parts = new ArrayList<>();
      for (Object o : l) {
        parts.add(raw(o));
      }
      return "[" + String.join(",", parts) + "]";
    }
    if (v instanceof Message m) {
      return message(m);
    }
    if (v == null) {
      return "null";
    }
    return String.valueOf(v);
  }

  /** Already-encoded JSON. */
  record RawJson(String text) {}

  /** A JSON string as Go escapes it (HTML characters too). */
  static String str(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '<' -> sb.append("\\u003c");
        case '>' -> sb.append("\\u003e");
        case '&' -> sb.append("\\u0026");
        case '\u2028' -> sb.append("\\u2028");
        case '\u2029' -> sb.append("\\u2029");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  /** A gogoproto message as Go's json.Marshal prints it. */
  static String message(Message m) {
    Json j = Json.object();
    List<OneofDescriptor> doneOneofs = new ArrayList<>();
    Map<FieldDescriptor, Object> set = m.getAllFields();
    for (FieldDescriptor f : m.getDescriptorForType().getFields()) {
      if (NOT_IN_34.contains(f.getFullName())) {
        continue;
      }
      OneofDescriptor o = f.getRealContainingOneof();
      if (o != null) {
        if (doneOneofs.contains(o)) {
          continue;
        }
        doneOneofs.add(o);
        FieldDescriptor which = m.getOneofFieldDescriptor(o);
        if (which != null) {
          j.field(
              goName(o.getName()),
              Json.object()
                  .field(goName(which.getName()), new RawJson(value(which, m.getField(which)))));
        }
        continue;
      }
      if (!set.containsKey(f)) {
        continue;
      }
      j.field(f.getName(), new RawJson(value(f, set.get(f))));
    }
    return j.end();
  }

  private static String value(FieldDescriptor f, Object v) {
    if (f.isRepeated()) {
      List<String> parts = new ArrayList<>();
      for (Object o : (List<?>) v) {
        parts.add(single(f, o));
      }
      return "[" + String.join(",", parts) + "]";
    }
    return single(f, v);
  }

  private static String single(FieldDescriptor f, Object v) {
    return switch (f.getJavaType()) {
      case MESSAGE -> message((Message) v);
      case BYTE_STRING -> str(Base64.getEncoder().encodeToString(((ByteString) v).toByteArray()));
      case STRING -> str((String) v);
      case ENUM ->
          String.valueOf(((com.google.protobuf.Descriptors.EnumValueDescriptor) v).getNumber());
      case LONG ->
          f.getType() == FieldDescriptor.Type.UINT64 || f.getType() == FieldDescriptor.Type.FIXED64
              ? Long.toUnsignedString((Long) v)
              : String.valueOf(v);
      case INT ->
          f.getType() == FieldDescriptor.Type.UINT32 || f.getType() == FieldDescriptor.Type.FIXED32
              ? Integer.toUnsignedString((Integer) v)
              : String.valueOf(v);
      default -> String.valueOf(v);
    };
  }

  /** request_range → RequestRange (Go's field name for a oneof). */
  static String goName(String protoName) {
    StringBuilder sb = new StringBuilder();
    boolean up = true;
    for (char c : protoName.toCharArray()) {
      if (c == '_') {
        up = true;
      } else {
        sb.append(up ? Character.toUpperCase(c) : c);
        up = false;
      }
    }
    return sb.toString();
  }

  /** Unsigned decimal (Go prints uint64 ids that way). */
  static String u(long v) {
    return Long.toUnsignedString(v);
  }
}
