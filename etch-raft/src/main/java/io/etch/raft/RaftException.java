package io.etch.raft;

/** An error value from the raft library; {@link #error()} says which. */
public final class RaftException extends RuntimeException {
  private final RaftError error;

  public RaftException(RaftError error) {
    this(error, error.message());
  }

  public RaftException(RaftError error, String detail) {
    super(detail, null, false, false);
    this.error = error;
  }

  public RaftError error() {
    return error;
  }
}
