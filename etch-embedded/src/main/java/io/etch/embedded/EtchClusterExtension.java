package io.etch.embedded;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension that runs an {@link EtchCluster} for a test class or for each test.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final EtchClusterExtension etch = EtchClusterExtension.builder().withMembers(3).build();
 *
 * @Test
 * void put() throws Exception {
 *   try (Client c = Client.builder().endpoints(etch.clientEndpoints()).build()) { ... }
 * }
 * }</pre>
 *
 * <p>In a {@code static} field the cluster starts before the class's first test and stops after its
 * last; in an instance field, a fresh cluster runs for each test. Test and lifecycle methods may
 * declare an {@link EtchCluster} parameter to receive it (with one such extension per class).
 */
public final class EtchClusterExtension
    implements BeforeAllCallback,
        AfterAllCallback,
        BeforeEachCallback,
        AfterEachCallback,
        ParameterResolver {
  private final EtchCluster.Builder template;
  private final int members;
  private final Path dataDir;
  private final Duration heartbeat;
  private final Duration electionTimeout;
  private final String[] flags;
  private EtchCluster cluster;
  private boolean perClass;

  private EtchClusterExtension(Builder b) {
    this.members = b.members;
    this.dataDir = b.dataDir;
    this.heartbeat = b.heartbeat;
    this.electionTimeout = b.electionTimeout;
    this.flags = b.flags;
    this.template = newBuilder(); // validates the options now, not at the first test
  }

  public static Builder builder() {
    return new Builder();
  }

  private EtchCluster.Builder newBuilder() {
    EtchCluster.Builder b = EtchCluster.builder().withMembers(members).withFlags(flags);
    if (dataDir != null) {
      b.withDataDir(dataDir);
    }
    if (heartbeat != null) {
      b.withRaftTiming(heartbeat, electionTimeout);
    }
    return b;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    perClass = true;
    cluster = template.start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stop();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (!perClass) {
      cluster = newBuilder().start();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (!perClass) {
      stop();
    }
  }

  private void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** The running cluster (members, stop/restart, leader). */
  public EtchCluster cluster() {
    if (cluster == null) {
      throw new IllegalStateException("the etch cluster starts before the first test");
    }
    return cluster;
  }

  public List<URI> clientEndpoints() {
    return cluster().clientEndpoints();
  }

  public List<URI> peerEndpoints() {
    return cluster().peerEndpoints();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == EtchCluster.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return cluster();
  }

  /** Options of the cluster the extension runs; see {@link EtchCluster.Builder}. */
  public static final class Builder {
    private int members = 1;
    private Path dataDir;
    private Duration heartbeat;
    private Duration electionTimeout;
    private String[] flags = new String[0];

    private Builder() {}

    public Builder withMembers(int n) {
      this.members = n;
      return this;
    }

    public Builder withDataDir(Path dir) {
      this.dataDir = dir;
      return this;
    }

    public Builder withRaftTiming(Duration heartbeat, Duration electionTimeout) {
      this.heartbeat = heartbeat;
      this.electionTimeout = electionTimeout;
      return this;
    }

    public Builder withFlags(String... flags) {
      this.flags = flags.clone();
      return this;
    }

    public EtchClusterExtension build() {
      return new EtchClusterExtension(this);
    }
  }
}
