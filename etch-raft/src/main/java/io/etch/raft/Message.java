package io.etch.raft;

import java.util.List;

/**
 * A raft message, as in the paper's RPCs plus etcd's extensions. One flat value type for every
 * {@link MessageType}; fields a type does not use are zero, empty or null.
 *
 * <p>For APP: {@code logTerm}/{@code index} identify the entry preceding {@code entries}. For
 * APP_RESP: {@code index} is the last index accepted, or on reject the rejected index with {@code
 * rejectHint}/{@code logTerm} the follower's hint for fast back-off. For HEARTBEAT and READ_INDEX
 * traffic {@code context} carries the read request token.
 */
public record Message(
    MessageType type,
    long to,
    long from,
    long term,
    long logTerm,
    long index,
    List<Entry> entries,
    long commit,
    Snapshot snapshot,
    boolean reject,
    long rejectHint,
    byte[] context) {

  public Message {
    if (entries == null) {
      entries = List.of();
    }
  }

  public static Builder builder(MessageType type) {
    return new Builder(type);
  }

  public Builder toBuilder() {
    Builder b = new Builder(type);
    b.to = to;
    b.from = from;
    b.term = term;
    b.logTerm = logTerm;
    b.index = index;
    b.entries = entries;
    b.commit = commit;
    b.snapshot = snapshot;
    b.reject = reject;
    b.rejectHint = rejectHint;
    b.context = context;
    return b;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    sb.append(from).append("->").append(to).append(' ').append(type);
    sb.append(" Term:").append(term).append(" Log:").append(logTerm).append('/').append(index);
    if (reject) {
      sb.append(" Rejected (Hint: ").append(rejectHint).append(')');
    }
    if (commit != 0) {
      sb.append(" Commit:").append(commit);
    }
    if (!entries.isEmpty()) {
      sb.append(" Entries:").append(entries);
    }
    if (snapshot != null && !snapshot.isEmpty()) {
      sb.append(" Snapshot: index=")
          .append(snapshot.index())
          .append(" term=")
          .append(snapshot.term());
    }
    return sb.toString();
  }

  /** Fluent builder; the only mutable piece of this type. */
  public static final class Builder {
    private final MessageType type;
    private long to;
    private long from;
    private long term;
    private long logTerm;
    private long index;
    private List<Entry> entries = List.of();
    private long commit;
    private Snapshot snapshot;
    private boolean reject;
    private long rejectHint;
    private byte[] context;

    private Builder(MessageType type) {
      this.type = type;
    }

    public Builder to(long v) {
      to = v;
      return this;
    }

    public Builder from(long v) {
      from = v;
      return this;
    }

    public Builder term(long v) {
      term = v;
      return this;
    }

    public Builder logTerm(long v) {
      logTerm = v;
      return this;
    }

    public Builder index(long v) {
      index = v;
      return this;
    }

    public Builder entries(List<Entry> v) {
      entries = v;
      return this;
    }

    public Builder commit(long v) {
      commit = v;
      return this;
    }

    public Builder snapshot(Snapshot v) {
      snapshot = v;
      return this;
    }

    public Builder reject(boolean v) {
      reject = v;
      return this;
    }

    public Builder rejectHint(long v) {
      rejectHint = v;
      return this;
    }

    public Builder context(byte[] v) {
      context = v;
      return this;
    }

    public Message build() {
      return new Message(
          type,
          to,
          from,
          term,
          logTerm,
          index,
          entries,
          commit,
          snapshot,
          reject,
          rejectHint,
          context);
    }
  }
}
