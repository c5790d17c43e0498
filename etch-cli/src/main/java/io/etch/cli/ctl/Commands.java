package io.etch.cli.ctl;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/** Registers etcdctl's commands on etchctl and handles etcdctl's argument conventions. */
public final class Commands {
  private Commands() {}

  public static void register(CommandLine root) {
    root.addSubcommand(new KvCommands.Get());
    root.addSubcommand(new KvCommands.Put());
    root.addSubcommand(new KvCommands.Del());
    root.addSubcommand(new KvCommands.Compaction());
    for (Object c : Extra.commands()) {
      root.addSubcommand(c);
    }
  }

  public static String errorMessage(Throwable t) {
    return Client.message(t);
  }

  /**
   * etcdctl takes global flags before the command too ({@code etcdctl --endpoints=x get foo});
   * picocli binds them per command, so they move to just after the command's name(s).
   */
  public static String[] globalFlagsAfterCommand(CommandLine root, String[] args) {
    List<String> globals = new ArrayList<>();
    int i = 0;
    while (i < args.length && args[i].startsWith("-") && !args[i].equals("--")) {
      String a = args[i];
      String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
      if (Global.VALUED.contains(name)) {
        globals.add(a);
        if (!a.contains("=") && i + 1 < args.length) {
          globals.add(args[++i]);
        }
      } else if (Global.BOOLEAN.contains(name)) {
        globals.add(a);
      } else {
        return args;
      }
      i++;
    }
    if (globals.isEmpty() || i >= args.length) {
      return args;
    }
    List<String> out = new ArrayList<>();
    CommandLine c = root;
    while (i < args.length && c.getSubcommands().containsKey(args[i])) {
      c = c.getSubcommands().get(args[i]);
      out.add(args[i++]);
    }
    out.addAll(globals);
    for (; i < args.length; i++) {
      out.add(args[i]);
    }
    return out.toArray(new String[0]);
  }
}
