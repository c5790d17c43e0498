package io.etch.raft;

/** One step of a configuration change. */
public enum ConfChangeType {
  ADD_NODE,
  REMOVE_NODE,
  /** No change to the configuration; lets the application carry updated member data. */
  UPDATE_NODE,
  ADD_LEARNER_NODE
}
