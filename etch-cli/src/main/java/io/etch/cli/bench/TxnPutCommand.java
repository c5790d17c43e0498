package io.etch.cli.bench;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.TxnRequest;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench txn-put}: Txn requests with no compare and {@code --txn-ops} puts of distinct keys
 * in the success branch (etcd's {@code benchmark txn-put}).
 */
@Command(
    name = "txn-put",
    mixinStandardHelpOptions = true,
    description = "Benchmark Txn: each request is a txn of --txn-ops puts to distinct keys.")
final class TxnPutCommand extends Workload {
  @Option(
      names = "--txn-ops",
      defaultValue = "1",
      description = "Puts per txn (default: ${DEFAULT-VALUE}).")
  int txnOps;

  @Override
  void validate() {
    BenchOptions.require(txnOps >= 1, "--txn-ops must be at least 1");
    // A txn may not put one key twice (etcd: duplicate key given in txn request).
    BenchOptions.require(
        opts.keySpaceSize >= txnOps, "--key-space-size must be at least --txn-ops");
  }

  @Override
  void describe(Map<String, Object> params) {
    params.put("txn_ops", txnOps);
  }

  @Override
  List<Result> measure(Connections conns, PrintWriter progress) throws Exception {
    Keys keys = opts.keys();
    ByteString value = Values.random(opts.valSize);
    boolean sequential = opts.sequentialKeys;
    int ops = txnOps;
    Operation txn =
        channel -> {
          KVGrpc.KVStub stub = KVGrpc.newStub(channel);
          return (seq, done) -> {
            // Consecutive keys from a first one, wrapping around: distinct since ops ≤ key space.
            long first = Values.keyIndex(seq * ops, keys.size(), sequential);
            TxnRequest.Builder t = TxnRequest.newBuilder();
            for (int i = 0; i < ops; i++) {
              t.addSuccess(
                  RequestOp.newBuilder()
                      .setRequestPut(
                          PutRequest.newBuilder()
                              .setKey(keys.key((first + i) % keys.size()))
                              .setValue(value)));
            }
            stub.txn(t.build(), Operation.observer(done));
          };
        };
    return List.of(closedLoop(conns, "txn-put", txn, progress));
  }
}
