package io.etch.server.kv;

import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.storage.mvcc.TxnChecks;

/**
 * etcd's request checks done before a request reaches raft ({@code v3rpc/key.go}): a request that
 * fails them never enters the log, so it cannot change or consume anything.
 */
final class Checks {
  private Checks() {}

  static void range(RangeRequest r) {
    if (r.getKey().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.EMPTY_KEY);
    }
    if (r.getSortOrderValue() < 0
        || r.getSortOrderValue() > 2
        || r.getSortTargetValue() < 0
        || r.getSortTargetValue() > 4) {
      throw io.grpc.Status.INVALID_ARGUMENT
          .withDescription("etcdserver: invalid sort option")
          .asRuntimeException();
    }
  }

  static void put(PutRequest r) {
    if (r.getKey().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.EMPTY_KEY);
    }
    if (r.getIgnoreValue() && !r.getValue().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.VALUE_PROVIDED);
    }
    if (r.getIgnoreLease() && r.getLease() != 0) {
      throw new EtcdStatusException(EtcdStatus.LEASE_PROVIDED);
    }
  }

  static void deleteRange(DeleteRangeRequest r) {
    if (r.getKey().isEmpty()) {
      throw new EtcdStatusException(EtcdStatus.EMPTY_KEY);
    }
  }

  /** Op counts, empty keys, and overlapping writes within a branch. */
  static void txn(TxnRequest r, int maxTxnOps) {
    TxnChecks.validate(KvMapper.txn(r), maxTxnOps);
  }
}
