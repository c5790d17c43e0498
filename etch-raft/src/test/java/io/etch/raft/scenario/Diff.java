package io.etch.raft.scenario;

import java.util.List;

/** A line diff (longest common subsequence) for readable scenario failures. */
final class Diff {
  private Diff() {}

  static String unified(List<String> a, List<String> b) {
    int n = a.size();
    int m = b.size();
    int[][] lcs = new int[n + 1][m + 1];
    for (int i = n - 1; i >= 0; i--) {
      for (int j = m - 1; j >= 0; j--) {
        lcs[i][j] =
            a.get(i).equals(b.get(j))
                ? lcs[i + 1][j + 1] + 1
                : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    StringBuilder sb = new StringBuilder();
    int i = 0;
    int j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a.get(i).equals(b.get(j))) {
        sb.append("   ").append(a.get(i)).append('\n');
        i++;
        j++;
      } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        sb.append(" - ").append(a.get(i)).append('\n');
        i++;
      } else {
        sb.append(" + ").append(b.get(j)).append('\n');
        j++;
      }
    }
    return sb.toString();
  }
}
