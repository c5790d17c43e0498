package io.etch.cli.ctl;

import java.util.List;

/** The commands beyond the key-value ones, in etcdctl's help order. */
final class Extra {
  private Extra() {}

  static List<Object> commands() {
    return List.of(
        new ClusterCommands.Lease(),
        new ClusterCommands.MemberCmd(),
        new ClusterCommands.Endpoint(),
        new ClusterCommands.Alarm(),
        new ClusterCommands.Defrag(),
        new ClusterCommands.MoveLeader(),
        new ClusterCommands.Version(),
        new AuthCommands.Auth(),
        new AuthCommands.User(),
        new AuthCommands.Role(),
        new TxnWatchCommands.Txn(),
        new TxnWatchCommands.Watch(),
        new TxnWatchCommands.Lock(),
        new TxnWatchCommands.Elect(),
        new CheckCommands.Check());
  }
}
