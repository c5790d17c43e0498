package io.etch.raft;

/**
 * A linearizable read may be served once the state machine has applied {@code index}. {@code
 * requestContext} is the caller's token given to {@link RawNode#readIndex}.
 */
public record ReadState(long index, byte[] requestContext) {}
