package io.etch.server.config;

import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Supplies a flag's value from its etcd environment variable when the flag is not given: {@code
 * --initial-cluster-token} reads {@code ETCD_INITIAL_CLUSTER_TOKEN}, as etcd does. A flag on the
 * command line wins over the environment.
 */
final class EnvDefaults implements IDefaultValueProvider {
  private final Map<String, String> env;

  EnvDefaults(Map<String, String> env) {
    this.env = env;
  }

  static String envName(String flag) {
    return "ETCD_" + flag.replaceFirst("^--", "").replace('-', '_').toUpperCase(Locale.ROOT);
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec opt)) {
      return null;
    }
    String v = env.get(envName(opt.longestName()));
    return v == null || v.isEmpty() ? null : v;
  }
}
