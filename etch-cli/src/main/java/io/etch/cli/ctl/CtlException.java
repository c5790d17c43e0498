package io.etch.cli.ctl;

/** A failed command: etcdctl prints {@code Error: <message>} and exits with {@code code}. */
public final class CtlException extends RuntimeException {
  // etcdctl's exit codes (etcdctl/ctlv3/command/error.go).
  static final int EXIT_ERROR = 1;
  static final int EXIT_BAD_CONNECTION = 2;
  static final int EXIT_INVALID_INPUT = 3;
  static final int EXIT_BAD_FEATURE = 4;
  static final int EXIT_INTERRUPTED = 5;
  static final int EXIT_IO = 6;
  static final int EXIT_BAD_ARGS = 128;

  final int code;

  CtlException(int code, String message) {
    super(message);
    this.code = code;
  }

  public int code() {
    return code;
  }
}
