package io.etch.raft;

/** A node's role in its current term. */
public enum StateRole {
  FOLLOWER,
  PRE_CANDIDATE,
  CANDIDATE,
  LEADER
}
