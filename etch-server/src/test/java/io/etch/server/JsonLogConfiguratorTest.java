package io.etch.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.time.OffsetDateTime;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class JsonLogConfiguratorTest {
  private static JsonObject layout(LoggingEvent e) {
    String line = new JsonLogConfigurator.JsonLayout().doLayout(e);
    assertThat(line).endsWith("\n");
    assertThat(line.substring(0, line.length() - 1)).doesNotContain("\n", "\r");
    return JsonParser.parseString(line).getAsJsonObject();
  }

  private static LoggingEvent event(String msg, Throwable t, Object... args) {
    LoggerContext ctx = new LoggerContext();
    return new LoggingEvent(
        JsonLogConfiguratorTest.class.getName(),
        ctx.getLogger("io.etch.server.EtchServer"),
        Level.WARN,
        msg,
        t,
        args);
  }

  @Test
  void everyEventIsOneJsonLineWhateverItsMessageHolds() {
    String nasty = "a \"quoted\" C:\\path\nsecond line\ttab \u0001 ü {} end";
    LoggingEvent e = event("got {}", null, nasty);
    JsonObject o = layout(e);
    assertThat(o.get("level").getAsString()).isEqualTo("WARN");
    assertThat(o.get("logger").getAsString()).isEqualTo("EtchServer");
    assertThat(o.get("msg").getAsString()).isEqualTo("got " + nasty);
    assertThat(OffsetDateTime.parse(o.get("ts").getAsString()).toInstant().toEpochMilli())
        .isEqualTo(e.getTimeStamp());
    assertThat(o.has("error")).isFalse();
  }

  @Test
  void anExceptionAndItsCausesGoIntoFieldsOfTheSameLine() {
    Exception t = new IllegalStateException("outer", new java.io.IOException("disk \"gone\""));
    JsonObject o = layout(event("cannot start", t));
    assertThat(o.get("msg").getAsString()).isEqualTo("cannot start");
    assertThat(o.get("error").getAsString()).isEqualTo("java.lang.IllegalStateException: outer");
    String stack = o.get("stacktrace").getAsString();
    assertThat(stack)
        .contains("\tat io.etch.server.JsonLogConfiguratorTest.")
        .contains("Caused by: java.io.IOException: disk \"gone\"");
  }

  @Test
  void theProgramsLoggingIsThisConfiguratorsThroughTheServiceLoader() {
    // etch-server's test classpath has no logback.xml, as the program's has none.
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ch.qos.logback.classic.Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Appender<?> a = root.getAppender("STDERR");
    assertThat(a).isInstanceOf(ConsoleAppender.class);
    ConsoleAppender<?> console = (ConsoleAppender<?>) a;
    assertThat(console.getTarget()).isEqualTo("System.err");
    assertThat(((LayoutWrappingEncoder<?>) console.getEncoder()).getLayout())
        .isInstanceOf(JsonLogConfigurator.JsonLayout.class);
  }

  @Test
  void aHostsOwnLogbackConfigurationWins() {
    String old = System.getProperty("logback.configurationFile");
    System.setProperty("logback.configurationFile", "host-logback.xml");
    try {
      LoggerContext ctx = new LoggerContext();
      JsonLogConfigurator c = new JsonLogConfigurator();
      c.setContext(ctx);
      assertThat(c.configure(ctx)).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
      assertThat(ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext())
          .isFalse();
    } finally {
      if (old == null) {
        System.clearProperty("logback.configurationFile");
      } else {
        System.setProperty("logback.configurationFile", old);
      }
    }
  }
}
