package io.etch.cli.ctl;

import java.util.List;

final class Extra {
  static List<Object> commands() {
    return List.of();
  }
}
