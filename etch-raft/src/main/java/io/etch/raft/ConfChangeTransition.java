package io.etch.raft;

/** How a configuration change moves between configurations (thesis §4.3, joint consensus). */
public enum ConfChangeTransition {
  /**
   * A single change to one voter is applied directly (simple); anything else goes through a joint
   * configuration which raft leaves automatically once it is committed.
   */
  AUTO,
  /** Always joint, left automatically. */
  JOINT_IMPLICIT,
  /** Always joint, left only when the caller proposes an empty change ({@link #isLeaveJoint}). */
  JOINT_EXPLICIT
}
