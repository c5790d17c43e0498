package io.etch.raft.scenario;

import java.util.ArrayList;
import java.util.List;

/**
 * A scenario file: free text ({@code #} comments, blank lines) and directives. A directive is one
 * command line, a {@code ----} line, then the expected output up to the next blank line or end of
 * file. Rendering gives the file back with each directive's actual output in place of the expected
 * one, everything else byte for byte.
 */
final class ScenarioFile {
  /** One command and its expected output; {@code line} is the 1-based line of the command. */
  static final class Directive {
    private final int line;
    private final String command;
    private final List<String> expected;
    private List<String> actual;

    Directive(int line, String command, List<String> expected) {
      this.line = line;
      this.command = command;
      this.expected = expected;
    }

    int line() {
      return line;
    }

    String command() {
      return command;
    }

    List<String> expected() {
      return expected;
    }

    void setActual(List<String> actual) {
      this.actual = actual;
    }
  }

  /** Either verbatim text or a directive, in file order. */
  private record Part(String text, Directive directive) {}

  private final List<Part> parts;

  private ScenarioFile(List<Part> parts) {
    this.parts = parts;
  }

  static ScenarioFile parse(String name, String content) {
    String[] lines = content.split("\n", -1);
    List<Part> parts = new ArrayList<>();
    int i = 0;
    // split() leaves one empty string after the final newline; it is not a line.
    int n = content.endsWith("\n") ? lines.length - 1 : lines.length;
    while (i < n) {
      String l = lines[i];
      if (l.isBlank() || l.startsWith("#")) {
        parts.add(new Part(l, null));
        i++;
        continue;
      }
      int cmdLine = i + 1;
      if (i + 1 >= n || !lines[i + 1].equals("----")) {
        throw new AssertionError(name + ":" + cmdLine + ": expected ---- after command: " + l);
      }
      List<String> expected = new ArrayList<>();
      i += 2;
      while (i < n && !lines[i].isEmpty()) {
        expected.add(lines[i]);
        i++;
      }
      parts.add(new Part(null, new Directive(cmdLine, l.trim(), expected)));
    }
    return new ScenarioFile(parts);
  }

  List<Directive> directives() {
    List<Directive> ds = new ArrayList<>();
    for (Part p : parts) {
      if (p.directive != null) {
        ds.add(p.directive);
      }
    }
    return ds;
  }

  String render() {
    StringBuilder sb = new StringBuilder();
    for (Part p : parts) {
      if (p.directive == null) {
        sb.append(p.text).append('\n');
        continue;
      }
      Directive d = p.directive;
      sb.append(d.command).append('\n').append("----\n");
      for (String l : d.actual != null ? d.actual : d.expected) {
        sb.append(l).append('\n');
      }
    }
    return sb.toString();
  }
}
