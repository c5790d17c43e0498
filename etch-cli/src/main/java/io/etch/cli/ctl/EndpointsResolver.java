package io.etch.cli.ctl;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --endpoints} list as gRPC addresses, resolved once: one address group per endpoint,
 * each with its own authority (host:port), so TLS verifies every endpoint against its own name.
 */
final class EndpointsResolver extends NameResolver {
  static final String SCHEME = "etchctl-endpoints";

  private final List<URI> endpoints;

  private EndpointsResolver(List<URI> endpoints) {
    this.endpoints = endpoints;
  }

  @Override
  public String getServiceAuthority() {
    URI first = endpoints.get(0);
    return first.getHost() + ":" + Client.port(first);
  }

  @Override
  public void start(Listener2 listener) {
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (URI u : endpoints) {
      groups.add(
          new EquivalentAddressGroup(
              new InetSocketAddress(u.getHost(), Client.port(u)),
              Attributes.newBuilder()
                  .set(
                      EquivalentAddressGroup.ATTR_AUTHORITY_OVERRIDE,
                      u.getHost() + ":" + Client.port(u))
                  .build()));
    }
    listener.onResult(ResolutionResult.newBuilder().setAddresses(groups).build());
  }

  @Override
  public void shutdown() {}

  static final class Factory extends NameResolver.Factory {
    private final List<URI> endpoints;

    Factory(List<URI> endpoints) {
      this.endpoints = List.copyOf(endpoints);
    }

    @Override
    public NameResolver newNameResolver(URI target, NameResolver.Args args) {
      return SCHEME.equals(target.getScheme()) ? new EndpointsResolver(endpoints) : null;
    }

    @Override
    public String getDefaultScheme() {
      return SCHEME;
    }
  }
}
