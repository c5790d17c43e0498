package io.etch.jepsen.checker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The text form of a history: one operation a line, tab-separated fields in {@link Op}'s order
 * ({@code id process type key value expected outcome read succeeded revision invoke complete}),
 * {@code -} for an absent value and {@code inf} for an open-ended completion. Lines starting with
 * {@code #} are comments. A recorded history can be read back and checked again.
 */
public final class History {
  private static final String NULL = "-";

  private History() {}

  public static String format(Op op) {
    return String.join(
        "\t",
        Long.toString(op.id()),
        Integer.toString(op.process()),
        op.type().name(),
        field(op.key()),
        field(op.value()),
        field(op.expected()),
        op.outcome().name(),
        field(op.read()),
        Boolean.toString(op.succeeded()),
        Long.toString(op.revision()),
        Long.toString(op.invokeNanos()),
        op.completeNanos() == Op.NEVER ? "inf" : Long.toString(op.completeNanos()));
  }

  public static Op parse(String line) {
    String[] f = line.split("\t", -1);
    if (f.length != 12) {
      throw new IllegalArgumentException("expected 12 fields, got " + f.length + ": " + line);
    }
    return new Op(
        Long.parseLong(f[0]),
        Integer.parseInt(f[1]),
        Op.Type.valueOf(f[2]),
        value(f[3]),
        value(f[4]),
        value(f[5]),
        Op.Outcome.valueOf(f[6]),
        value(f[7]),
        Boolean.parseBoolean(f[8]),
        Long.parseLong(f[9]),
        Long.parseLong(f[10]),
        f[11].equals("inf") ? Op.NEVER : Long.parseLong(f[11]));
  }

  public static List<Op> parse(List<String> lines) {
    List<Op> ops = new ArrayList<>();
    for (String l : lines) {
      if (!l.isBlank() && !l.startsWith("#")) {
        ops.add(parse(l));
      }
    }
    return ops;
  }

  public static List<Op> read(Path file) throws IOException {
    return parse(Files.readAllLines(file, StandardCharsets.UTF_8));
  }

  public static void write(Path file, List<Op> ops) throws IOException {
    List<String> lines = new ArrayList<>(ops.size() + 1);
    lines.add(
        "# id\tprocess\ttype\tkey\tvalue\texpected\toutcome\tread\tsucceeded\trevision\tinvoke\tcomplete");
    for (Op op : ops) {
      lines.add(format(op));
    }
    Files.write(file, lines, StandardCharsets.UTF_8);
  }

  private static String field(String s) {
    if (s == null) {
      return NULL;
    }
    if (s.equals(NULL) || s.indexOf('\t') >= 0 || s.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("value cannot be written in a history: " + s);
    }
    return s;
  }

  private static String value(String s) {
    return s.equals(NULL) ? null : s;
  }
}
