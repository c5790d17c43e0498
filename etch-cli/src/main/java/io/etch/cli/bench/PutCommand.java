package io.etch.cli.bench;

import com.google.protobuf.ByteString;
import io.etch.api.etcdserverpb.KVGrpc;
import io.etch.api.etcdserverpb.PutRequest;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code bench put}: Put requests over the key space (etcd's {@code benchmark put}). */
@Command(
    name = "put",
    mixinStandardHelpOptions = true,
    description = "Benchmark Put: each request writes one key of the key space.")
final class PutCommand extends Workload {
  @Override
  List<Result> measure(Connections conns, PrintWriter progress) throws Exception {
    Keys keys = opts.keys();
    ByteString value = Values.random(opts.valSize);
    Operation put = puts(keys, value, opts.sequentialKeys);
    return List.of(closedLoop(conns, "put", put, progress));
  }

  /** Puts of {@code value} to key {@code seq} (sequential) or a random key of the key space. */
  static Operation puts(Keys keys, ByteString value, boolean sequential) {
    return channel -> {
      KVGrpc.KVStub stub = KVGrpc.newStub(channel);
      return (seq, done) ->
          stub.put(
              PutRequest.newBuilder()
                  .setKey(keys.key(Values.keyIndex(seq, keys.size(), sequential)))
                  .setValue(value)
                  .build(),
              Operation.observer(done));
    };
  }
}
