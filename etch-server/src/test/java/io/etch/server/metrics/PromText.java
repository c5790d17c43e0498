package io.etch.server.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: families by their
 * {@code # TYPE} line, samples with labels and values. A sample outside its family, a malformed
 * line, label or value, or a family declared twice is an error.
 */
public final class PromText {
  public record Sample(String name, Map<String, String> labels, double value) {}

  public record Family(String name, String type, String help, List<Sample> samples) {
    /** The samples named {@code name} whose labels include all of {@code labels}. */
    public List<Sample> find(String name, Map<String, String> labels) {
      return samples.stream()
          .filter(s -> s.name().equals(name))
          .filter(s -> s.labels().entrySet().containsAll(labels.entrySet()))
          .toList();
    }

    /** The one sample named {@code name} with these labels (among others). */
    public double value(String name, Map<String, String> labels) {
      List<Sample> found = find(name, labels);
      if (found.size() != 1) {
        throw new AssertionError(found.size() + " samples " + name + labels + " in " + samples);
      }
      return found.get(0).value();
    }

    public double value() {
      return value(name, Map.of());
    }
  }

  private final Map<String, Family> families;

  private PromText(Map<String, Family> families) {
    this.families = families;
  }

  public Map<String, Family> families() {
    return families;
  }

  public Optional<Family> family(String name) {
    return Optional.ofNullable(families.get(name));
  }

  public Family require(String name) {
    Family f = families.get(name);
    if (f == null) {
      throw new AssertionError("no metric family " + name + " in " + families.keySet());
    }
    return f;
  }

  public static PromText parse(String text) {
    Map<String, Family> out = new LinkedHashMap<>();
    Map<String, String> help = new TreeMap<>();
    Family current = null;
    int lineNo = 0;
    for (String line : text.split("\n", -1)) {
      lineNo++;
      if (line.isEmpty()) {
        continue;
      }
      try {
        if (line.startsWith("# HELP ")) {
          String rest = line.substring(7);
          int sp = rest.indexOf(' ');
          help.put(sp < 0 ? rest : rest.substring(0, sp), sp < 0 ? "" : rest.substring(sp + 1));
        } else if (line.startsWith("# TYPE ")) {
          String[] p = line.substring(7).split(" ");
          if (p.length != 2 || !p[1].matches("counter|gauge|histogram|summary|untyped")) {
            throw new IllegalArgumentException("bad TYPE");
          }
          if (out.containsKey(p[0])) {
            throw new IllegalArgumentException("family " + p[0] + " declared twice");
          }
          current = new Family(p[0], p[1], help.getOrDefault(p[0], ""), new ArrayList<>());
          out.put(p[0], current);
        } else if (line.startsWith("#")) {
          continue; // a comment
        } else {
          Sample s = sample(line);
          if (current == null || !belongs(current, s.name())) {
            throw new IllegalArgumentException("sample outside its family");
          }
          current.samples().add(s);
        }
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("line " + lineNo + ": " + e.getMessage() + ": " + line);
      }
    }
    return new PromText(out);
  }

  private static boolean belongs(Family f, String sample) {
    if (sample.equals(f.name())) {
      return true;
    }
    List<String> suffixes =
        switch (f.type()) {
          case "histogram" -> List.of("_bucket", "_sum", "_count");
          case "summary" -> List.of("_sum", "_count");
          default -> List.of();
        };
    return suffixes.stream().anyMatch(x -> sample.equals(f.name() + x));
  }

  private static Sample sample(String line) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
      throw new IllegalArgumentException("bad metric name");
    }
    Map<String, String> labels = new TreeMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        String label = line.substring(i, eq);
        if (!label.matches("[a-zA-Z_][a-zA-Z0-9_]*") || line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException("bad label");
        }
        StringBuilder v = new StringBuilder();
        int j = eq + 2;
        for (; line.charAt(j) != '"'; j++) {
          char c = line.charAt(j);
          if (c == '\\') {
            char n = line.charAt(++j);
            v.append(n == 'n' ? '\n' : n);
          } else {
            v.append(c);
          }
        }
        if (labels.put(label, v.toString()) != null) {
          throw new IllegalArgumentException("label " + label + " twice");
        }
        i = j + 1;
        if (line.charAt(i) == ',') {
          i++;
        }
      }
      i++;
    }
    if (line.charAt(i) != ' ') {
      throw new IllegalArgumentException("no value");
    }
    String[] rest = line.substring(i + 1).split(" ");
    if (rest.length > 2) {
      throw new IllegalArgumentException("extra fields");
    }
    return new Sample(name, labels, number(rest[0]));
  }

  static double number(String s) {
    return switch (s) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(s);
    };
  }
}
