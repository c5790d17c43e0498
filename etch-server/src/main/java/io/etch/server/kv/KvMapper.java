package io.etch.server.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.etch.api.etcdserverpb.DeleteRangeRequest;
import io.etch.api.etcdserverpb.DeleteRangeResponse;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.etcdserverpb.PutResponse;
import io.etch.api.etcdserverpb.RangeRequest;
import io.etch.api.etcdserverpb.RangeResponse;
import io.etch.api.etcdserverpb.RequestOp;
import io.etch.api.etcdserverpb.ResponseHeader;
import io.etch.api.etcdserverpb.ResponseOp;
import io.etch.api.etcdserverpb.TxnRequest;
import io.etch.api.etcdserverpb.TxnResponse;
import io.etch.api.mvccpb.Event;
import io.etch.api.mvccpb.KeyValue;
import io.etch.storage.mvcc.Compare;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps between etcd's wire messages and the MVCC store's records. Pure functions; byte arrays are
 * shared, not copied, where protobuf allows (values are immutable on both sides).
 */
public final class KvMapper {
  private static final byte[] EMPTY = new byte[0];

  private KvMapper() {}

  static byte[] bytes(ByteString b) {
    return b.isEmpty() ? EMPTY : b.toByteArray();
  }

  static ByteString bs(byte[] b) {
    return b == null || b.length == 0 ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(b);
  }

  // ---------------------------------------------------------------- requests: wire -> store

  public static io.etch.storage.mvcc.RangeRequest range(RangeRequest r) {
    return new io.etch.storage.mvcc.RangeRequest(
        bytes(r.getKey()),
        bytes(r.getRangeEnd()),
        r.getLimit(),
        r.getRevision(),
        io.etch.storage.mvcc.RangeRequest.SortOrder.values()[r.getSortOrderValue()],
        io.etch.storage.mvcc.RangeRequest.SortTarget.values()[r.getSortTargetValue()],
        r.getSerializable(),
        r.getKeysOnly(),
        r.getCountOnly(),
        r.getMinModRevision(),
        r.getMaxModRevision(),
        r.getMinCreateRevision(),
        r.getMaxCreateRevision());
  }

  public static io.etch.storage.mvcc.PutRequest put(PutRequest p) {
    return new io.etch.storage.mvcc.PutRequest(
        bytes(p.getKey()),
        bytes(p.getValue()),
        p.getLease(),
        p.getPrevKv(),
        p.getIgnoreValue(),
        p.getIgnoreLease());
  }

  public static io.etch.storage.mvcc.DeleteRangeRequest deleteRange(DeleteRangeRequest d) {
    return new io.etch.storage.mvcc.DeleteRangeRequest(
        bytes(d.getKey()), bytes(d.getRangeEnd()), d.getPrevKv());
  }

  public static io.etch.storage.mvcc.TxnRequest txn(TxnRequest t) {
    List<Compare> cmps = new ArrayList<>(t.getCompareCount());
    for (io.etch.api.etcdserverpb.Compare c : t.getCompareList()) {
      cmps.add(compare(c));
    }
    return new io.etch.storage.mvcc.TxnRequest(
        cmps, ops(t.getSuccessList()), ops(t.getFailureList()));
  }

  static Compare compare(io.etch.api.etcdserverpb.Compare c) {
    Compare.CompareResult result = Compare.CompareResult.values()[c.getResultValue()];
    Compare.CompareTarget target = Compare.CompareTarget.values()[c.getTargetValue()];
    return new Compare(
        result,
        target,
        bytes(c.getKey()),
        bytes(c.getRangeEnd()),
        c.getVersion(),
        c.getCreateRevision(),
        c.getModRevision(),
        bytes(c.getValue()),
        c.getLease());
  }

  static List<io.etch.storage.mvcc.RequestOp> ops(List<RequestOp> ops) {
    List<io.etch.storage.mvcc.RequestOp> out = new ArrayList<>(ops.size());
    for (RequestOp op : ops) {
      out.add(
          switch (op.getRequestCase()) {
            case REQUEST_RANGE ->
                new io.etch.storage.mvcc.RequestOp.RequestRange(range(op.getRequestRange()));
            case REQUEST_PUT ->
                new io.etch.storage.mvcc.RequestOp.RequestPut(put(op.getRequestPut()));
            case REQUEST_DELETE_RANGE ->
                new io.etch.storage.mvcc.RequestOp.RequestDeleteRange(
                    deleteRange(op.getRequestDeleteRange()));
            case REQUEST_TXN ->
                new io.etch.storage.mvcc.RequestOp.RequestTxn(txn(op.getRequestTxn()));
            case REQUEST_NOT_SET ->
                throw new IllegalArgumentException("etcdserver: request op is not set");
          });
    }
    return out;
  }

  // ---------------------------------------------------------------- responses: store -> wire

  public static KeyValue kv(io.etch.storage.mvcc.KeyValue kv) {
    return KeyValue.newBuilder()
        .setKey(bs(kv.key()))
        .setCreateRevision(kv.createRevision())
        .setModRevision(kv.modRevision())
        .setVersion(kv.version())
        .setValue(bs(kv.value()))
        .setLease(kv.lease())
        .build();
  }

  public static Event event(io.etch.storage.mvcc.Event e, boolean withPrevKv) {
    Event.Builder b =
        Event.newBuilder()
            .setType(
                e.type() == io.etch.storage.mvcc.Event.EventType.PUT
                    ? Event.EventType.PUT
                    : Event.EventType.DELETE)
            .setKv(kv(e.kv()));
    if (withPrevKv && e.prevKv() != null) {
      b.setPrevKv(kv(e.prevKv()));
    }
    return b.build();
  }

  public static RangeResponse rangeResponse(
      io.etch.storage.mvcc.RangeResponse r, ResponseHeader header) {
    RangeResponse.Builder b =
        RangeResponse.newBuilder().setHeader(header).setMore(r.more()).setCount(r.count());
    for (io.etch.storage.mvcc.KeyValue kv : r.kvs()) {
      b.addKvs(kv(kv));
    }
    return b.build();
  }

  public static PutResponse putResponse(io.etch.storage.mvcc.PutResponse r, ResponseHeader header) {
    PutResponse.Builder b = PutResponse.newBuilder().setHeader(header);
    if (r.prevKv() != null) {
      b.setPrevKv(kv(r.prevKv()));
    }
    return b.build();
  }

  public static DeleteRangeResponse deleteRangeResponse(
      io.etch.storage.mvcc.DeleteRangeResponse r, ResponseHeader header) {
    DeleteRangeResponse.Builder b =
        DeleteRangeResponse.newBuilder().setHeader(header).setDeleted(r.deleted());
    for (io.etch.storage.mvcc.KeyValue kv : r.prevKvs()) {
      b.addPrevKvs(kv(kv));
    }
    return b.build();
  }

  /** Every nested response carries the same header as the outermost one, as in etcd. */
  public static TxnResponse txnResponse(io.etch.storage.mvcc.TxnResponse r, ResponseHeader header) {
    TxnResponse.Builder b = TxnResponse.newBuilder().setHeader(header).setSucceeded(r.succeeded());
    for (io.etch.storage.mvcc.ResponseOp op : r.responses()) {
      ResponseOp.Builder ob = ResponseOp.newBuilder();
      if (op instanceof io.etch.storage.mvcc.ResponseOp.ResponseRange rr) {
        ob.setResponseRange(rangeResponse(rr.response(), header));
      } else if (op instanceof io.etch.storage.mvcc.ResponseOp.ResponsePut rp) {
        ob.setResponsePut(putResponse(rp.response(), header));
      } else if (op instanceof io.etch.storage.mvcc.ResponseOp.ResponseDeleteRange rd) {
        ob.setResponseDeleteRange(deleteRangeResponse(rd.response(), header));
      } else if (op instanceof io.etch.storage.mvcc.ResponseOp.ResponseTxn rt) {
        ob.setResponseTxn(txnResponse(rt.response(), header));
      }
      b.addResponses(ob);
    }
    return b.build();
  }
}
