package io.etch.raft.scenario;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Replays every {@code src/test/resources/scenarios/*.txt} against the raft core (etcd-io/raft's
 * interaction tests are the model; see {@code scenarios/README.md} for the format and commands).
 *
 * <p>{@code -Detch.scenario.rewrite=true} writes the actual outputs back into the files, so that a
 * behaviour change shows as a diff to review; {@code -Detch.scenario.filter=NAME} runs only files
 * whose name contains NAME. A file with a {@code # BUG-DISABLED: diagnosis} line documents a known
 * core bug: its expected output is the correct behaviour (hand-written, never rewritten); while it
 * fails it is reported as skipped, and once it passes the build asks to remove the marker.
 */
class ScenarioTest {
  private static final boolean REWRITE = Boolean.getBoolean("etch.scenario.rewrite");
  private static final String FILTER = System.getProperty("etch.scenario.filter", "");

  @TestFactory
  Stream<DynamicTest> scenarios() throws IOException {
    Path dir = scenarioDir();
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(p -> p.getFileName().toString().endsWith(".txt"))
          .filter(p -> p.getFileName().toString().contains(FILTER))
          .sorted()
          .forEach(files::add);
    }
    if (files.isEmpty()) {
      fail("no scenario files in " + dir);
    }
    return files.stream()
        .map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> run(f)));
  }

  private static void run(Path file) throws IOException {
    String name = "scenarios/" + file.getFileName();
    String content = Files.readString(file, StandardCharsets.UTF_8);
    String bug = bugMarker(content);
    try {
      replay(file, name, content, bug == null && REWRITE);
    } catch (AssertionError e) {
      if (bug == null) {
        throw e;
      }
      // The file's expected output is the correct behaviour, written by hand; the core does
      // not behave so yet. Reported as skipped, as @Disabled would, with the diagnosis.
      Assumptions.abort("BUG: " + bug + "\n" + e.getMessage());
    }
    if (bug != null) {
      fail(name + " passes now: remove its BUG-DISABLED line and the entry in RAFT-FINDINGS.md");
    }
  }

  /** The diagnosis after a leading {@code # BUG-DISABLED:} line, or null. */
  private static String bugMarker(String content) {
    for (String l : content.split("\n")) {
      if (l.startsWith("# BUG-DISABLED:")) {
        return l.substring("# BUG-DISABLED:".length()).trim();
      }
    }
    return null;
  }

  private static void replay(Path file, String name, String content, boolean rewrite)
      throws IOException {
    ScenarioFile sf = ScenarioFile.parse(name, content);
    Env env = new Env();
    StringBuilder failures = new StringBuilder();
    for (ScenarioFile.Directive d : sf.directives()) {
      List<String> actual;
      try {
        actual = env.run(new Env.Cmd(d.command()));
      } catch (Env.ScenarioException | NumberFormatException e) {
        throw new AssertionError(name + ":" + d.line() + ": bad command: " + e.getMessage(), e);
      }
      d.setActual(actual);
      if (!actual.equals(d.expected())) {
        failures
            .append(name)
            .append(':')
            .append(d.line())
            .append(": ")
            .append(d.command())
            .append('\n')
            .append(Diff.unified(d.expected(), actual))
            .append('\n');
      }
    }
    if (rewrite) {
      Files.writeString(file, sf.render(), StandardCharsets.UTF_8);
      return;
    }
    if (failures.length() > 0) {
      fail(
          "scenario output differs (- expected, + actual); rerun with"
              + " -Detch.scenario.rewrite=true to update, then review the diff\n"
              + failures);
    }
  }

  /** The source directory (so that rewrite edits the files under version control). */
  private static Path scenarioDir() {
    for (String cand :
        new String[] {"src/test/resources/scenarios", "etch-raft/src/test/resources/scenarios"}) {
      Path p = Path.of(cand);
      if (Files.isDirectory(p)) {
        return p;
      }
    }
    URL url = ScenarioTest.class.getClassLoader().getResource("scenarios");
    if (url == null) {
      throw new UncheckedIOException(new IOException("scenarios directory not found"));
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
