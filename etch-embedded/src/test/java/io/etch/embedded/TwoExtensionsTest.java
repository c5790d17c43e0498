package io.etch.embedded;

import static io.etch.embedded.Jetcd.get;
import static io.etch.embedded.Jetcd.put;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Two extensions in one class (and so in one JVM) run two separate clusters. */
class TwoExtensionsTest {
  @RegisterExtension
  static final EtchClusterExtension first = EtchClusterExtension.builder().build();

  @RegisterExtension
  static final EtchClusterExtension second = EtchClusterExtension.builder().build();

  @Test
  void theyDoNotShareEndpointsOrData() throws Exception {
    assertThat(first.clientEndpoints()).doesNotContainAnyElementsOf(second.clientEndpoints());
    assertThat(first.cluster().dataDir()).isNotEqualTo(second.cluster().dataDir());
    try (Client a = Jetcd.client(first.clientEndpoints());
        Client b = Jetcd.client(second.clientEndpoints())) {
      put(a.getKVClient(), "shared?", "first");
      put(b.getKVClient(), "shared?", "second");
      assertThat(get(a.getKVClient(), "shared?", false)).isEqualTo("first");
      assertThat(get(b.getKVClient(), "shared?", false)).isEqualTo("second");
    }
  }
}
