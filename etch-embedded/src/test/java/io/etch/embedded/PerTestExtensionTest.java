package io.etch.embedded;

import static io.etch.embedded.Jetcd.get;
import static io.etch.embedded.Jetcd.put;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.extension.RegisterExtension;

/** In an instance field the extension runs a fresh cluster for every test. */
class PerTestExtensionTest {
  private static final List<Path> earlierDirs = new ArrayList<>();

  @RegisterExtension final EtchClusterExtension etch = EtchClusterExtension.builder().build();

  @RepeatedTest(2)
  void eachTestGetsAFreshClusterAndTheLastOneIsGone(EtchCluster cluster) throws Exception {
    for (Path earlier : earlierDirs) {
      assertThat(earlier).doesNotExist();
    }
    assertThat(earlierDirs).doesNotContain(cluster.dataDir());
    earlierDirs.add(cluster.dataDir());
    try (Client client = Jetcd.client(etch.clientEndpoints())) {
      assertThat(get(client.getKVClient(), "per-test", false)).isNull();
      put(client.getKVClient(), "per-test", "written");
    }
  }
}
