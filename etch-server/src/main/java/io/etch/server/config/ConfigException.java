package io.etch.server.config;

/** A flag, environment variable or config-file value that etch cannot accept. */
public final class ConfigException extends Exception {
  public ConfigException(String message) {
    super(message);
  }
}
