package io.etch.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import org.slf4j.Logger;

/**
 * etch's logging set up in code: one JSON object per line on stderr, as etcd logs, at INFO. Logback
 * finds this class through {@code META-INF/services} before its own XML configurator, so the
 * program never loads logback's XML machinery and the JDK's XML parser (~480 classes, ~3 MiB of
 * metaspace; bench/README.md, "Memory").
 *
 * <p>A host that embeds etch keeps its own logging: when the classpath has a {@code logback.xml} or
 * {@code logback-test.xml}, or {@code logback.configurationFile} is set, this configurator steps
 * aside and logback configures itself as usual.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class JsonLogConfigurator extends ContextAwareBase implements Configurator {
  @Override
  public ExecutionStatus configure(LoggerContext ctx) {
    ClassLoader cl = JsonLogConfigurator.class.getClassLoader();
    if (System.getProperty("logback.configurationFile") != null
        || cl.getResource("logback-test.xml") != null
        || cl.getResource("logback.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    JsonLayout layout = new JsonLayout();
    layout.setContext(ctx);
    layout.start();
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(ctx);
    encoder.setLayout(layout);
    encoder.start();
    ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
    appender.setContext(ctx);
    appender.setName("STDERR");
    appender.setTarget("System.err");
    appender.setEncoder(encoder);
    appender.start();
    ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(appender);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /**
   * {@code {"level":"INFO","ts":"2026-12-04T21:27:47.691Z","logger":"Main","msg":"..."}}, plus
   * {@code "error"} (the exception) and {@code "stacktrace"} when the event carries one: every
   * event is one line, whatever its message holds.
   */
  static final class JsonLayout extends LayoutBase<ILoggingEvent> {
    private static final DateTimeFormatter TS =
        DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
            .withZone(ZoneId.systemDefault());

    @Override
    public String doLayout(ILoggingEvent e) {
      StringWriter out = new StringWriter(160);
      try (JsonWriter w = new JsonWriter(out)) {
        String name = e.getLoggerName();
        w.beginObject()
            .name("level")
            .value(e.getLevel().toString())
            .name("ts")
            .value(TS.format(Instant.ofEpochMilli(e.getTimeStamp())))
            .name("logger")
            .value(name.substring(name.lastIndexOf('.') + 1))
            .name("msg")
            .value(e.getFormattedMessage());
        IThrowableProxy t = e.getThrowableProxy();
        if (t != null) {
          w.name("error")
              .value(t.getClassName() + (t.getMessage() == null ? "" : ": " + t.getMessage()))
              .name("stacktrace")
              .value(stackTrace(t));
        }
        w.endObject();
      } catch (IOException impossible) {
        throw new UncheckedIOException(impossible); // a StringWriter does not fail
      }
      return out.append('\n').toString();
    }

    private static String stackTrace(IThrowableProxy t) {
      StringBuilder s = new StringBuilder();
      for (IThrowableProxy c = t; c != null; c = c.getCause()) {
        if (c != t) {
          s.append("Caused by: ");
          ThrowableProxyUtil.subjoinFirstLine(s, c);
          s.append('\n');
        }
        for (StackTraceElementProxy f : c.getStackTraceElementProxyArray()) {
          s.append("\tat ").append(f.getStackTraceElement()).append('\n');
        }
      }
      return s.toString();
    }
  }
}
