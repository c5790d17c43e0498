package io.etch.raft;

/** What an entry's data holds. */
public enum EntryType {
  /** Application data (or empty: the leader's no-op on election). */
  NORMAL,
  /** An encoded {@link ConfChange}. */
  CONF_CHANGE
}
