package io.etch.raft.sim;

/** A safety or liveness invariant of the simulated cluster does not hold. */
final class InvariantViolation extends AssertionError {
  private final String invariant;

  InvariantViolation(String invariant, String detail) {
    super(invariant + ": " + detail);
    this.invariant = invariant;
  }

  /** Short name of the invariant, e.g. {@code leader-per-term}. */
  String invariant() {
    return invariant;
  }
}
