/**
 * Raft snapshots as directories of state-machine files plus metadata: saved durably and atomically
 * ({@link io.etch.storage.snapshot.SnapshotStore}), streamed to a follower in checksummed chunks
 * ({@link io.etch.storage.snapshot.SnapshotStream}) and installed there ({@link
 * io.etch.storage.snapshot.SnapshotReceiver}).
 */
package io.etch.storage.snapshot;
