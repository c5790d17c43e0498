package io.etch.cli.ctl;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** olekukonko/tablewriter as etcdctl uses it: centred header, cells aligned right. */
final class Table {
  private final List<String> header;
  private final List<List<String>> rows = new ArrayList<>();

  Table(String... header) {
    this.header = List.of(header);
  }

  void add(String... row) {
    rows.add(List.of(row));
  }

  void render(PrintWriter out) {
    int[] w = new int[header.size()];
    for (int i = 0; i < w.length; i++) {
      w[i] = header.get(i).codePointCount(0, header.get(i).length());
      for (List<String> r : rows) {
        w[i] = Math.max(w[i], r.get(i).codePointCount(0, r.get(i).length()));
      }
    }
    StringBuilder line = new StringBuilder("+");
    for (int x : w) {
      line.append("-".repeat(x + 2)).append('+');
    }
    out.println(line);
    StringBuilder h = new StringBuilder("|");
    for (int i = 0; i < w.length; i++) {
      String t = header.get(i);
      int gap = w[i] - t.codePointCount(0, t.length());
      int left = gap / 2;
      h.append(' ').append(" ".repeat(left)).append(t).append(" ".repeat(gap - left)).append(" |");
    }
    out.println(h);
    out.println(line);
    for (List<String> r : rows) {
      StringBuilder b = new StringBuilder("|");
      for (int i = 0; i < w.length; i++) {
        String t = r.get(i);
        b.append(' ')
            .append(" ".repeat(w[i] - t.codePointCount(0, t.length())))
            .append(t)
            .append(" |");
      }
      out.println(b);
    }
    out.println(line);
  }
}
