package io.etch.raft;

import java.util.List;

/**
 * Everything the caller must do, in this order: persist {@code entries}, {@code hardState} and
 * {@code snapshot} (fsync if {@code mustSync}); send {@code messages}; apply {@code snapshot} then
 * {@code committedEntries}; serve {@code readStates} once applied; then call {@link
 * RawNode#advance}. A field that did not change since the last Ready is null ({@code softState},
 * {@code hardState}) or empty.
 *
 * <p>Messages may be sent before persisting only if they are not MsgApp/votes from this node; to
 * keep the contract simple, callers persist first.
 */
public record Ready(
    SoftState softState,
    HardState hardState,
    List<ReadState> readStates,
    List<Entry> entries,
    Snapshot snapshot,
    List<Entry> committedEntries,
    List<Message> messages,
    boolean mustSync) {

  public boolean containsUpdates() {
    return softState != null
        || hardState != null
        || !readStates.isEmpty()
        || !entries.isEmpty()
        || (snapshot != null && !snapshot.isEmpty())
        || !committedEntries.isEmpty()
        || !messages.isEmpty();
  }
}
