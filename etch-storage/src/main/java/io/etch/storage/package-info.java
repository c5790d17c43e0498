/** Durable storage: the write-ahead log ({@code wal}), raft snapshots and the MVCC store. */
package io.etch.storage;
