/**
 * The write-ahead log: raft entries, hard states and snapshot markers in preallocated, CRC32C
 * framed segment files, written with group commit ({@link io.etch.storage.wal.Wal}), recovered with
 * torn-tail repair and fail-stop on earlier damage ({@link io.etch.storage.wal.WalReader}), and
 * served to raft as its log storage ({@link io.etch.storage.wal.WalStorage}).
 *
 * <p>Durability contract (DESIGN.md "Durability"): a caller is told its append is durable only
 * after the fdatasync covering it returned; recovery never drops such an entry unless the damage is
 * in the last record of the log.
 */
package io.etch.storage.wal;
