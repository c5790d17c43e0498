package io.etch.cli.ctl;

import com.google.protobuf.ByteString;
import io.etch.api.authpb.Permission;
import io.etch.api.etcdserverpb.AuthDisableRequest;
import io.etch.api.etcdserverpb.AuthEnableRequest;
import io.etch.api.etcdserverpb.AuthRoleAddRequest;
import io.etch.api.etcdserverpb.AuthRoleDeleteRequest;
import io.etch.api.etcdserverpb.AuthRoleGetRequest;
import io.etch.api.etcdserverpb.AuthRoleGetResponse;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etch.api.etcdserverpb.AuthRoleListRequest;
import io.etch.api.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.etch.api.etcdserverpb.AuthUserAddRequest;
import io.etch.api.etcdserverpb.AuthUserChangePasswordRequest;
import io.etch.api.etcdserverpb.AuthUserDeleteRequest;
import io.etch.api.etcdserverpb.AuthUserGetRequest;
import io.etch.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etch.api.etcdserverpb.AuthUserListRequest;
import io.etch.api.etcdserverpb.AuthUserRevokeRoleRequest;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** auth, user and role. Simple output is etcdctl's text; other formats print the response. */
final class AuthCommands {
  private AuthCommands() {}

  abstract static class AuthCommand extends CtlCommand {
    @Parameters List<String> args = new ArrayList<>();

    void need(int n, String message) {
      if (args.size() != n) {
        throw badArgs(message);
      }
    }

    <T extends com.google.protobuf.Message> T call(Supplier<T> rpc) {
      try {
        return rpc.get();
      } catch (StatusRuntimeException e) {
        throw Client.error(e);
      }
    }

    /** Prints {@code text} for simple, the response otherwise. */
    void print(com.google.protobuf.Message r, String text) {
      switch (format()) {
        case "json" -> json(r);
        case "protobuf" -> protobuf(r);
        case "fields" ->
            fieldsHeader(
                (io.etch.api.etcdserverpb.ResponseHeader)
                    r.getField(r.getDescriptorForType().findFieldByName("header")));
        case "table" -> throw unsupported("table not supported as output format");
        default -> out.println(text);
      }
    }

    String password(String prompt) {
      out.print(prompt);
      out.flush();
      try {
        String p = in.readLine();
        return p == null ? "" : p;
      } catch (IOException e) {
        throw new CtlException(1, e.getMessage());
      }
    }
  }

  @Command(
      name = "auth",
      description = "Enable or disable authentication",
      subcommands = {AuthEnable.class, AuthDisable.class})
  static final class Auth {}

  @Command(name = "enable", description = "Enables authentication")
  static final class AuthEnable extends AuthCommand {
    @Override
    int run() {
      need(0, "auth enable command does not accept any arguments");
      call(() -> client().auth().authEnable(AuthEnableRequest.getDefaultInstance()));
      out.println("Authentication Enabled");
      return 0;
    }
  }

  @Command(name = "disable", description = "Disables authentication")
  static final class AuthDisable extends AuthCommand {
    @Override
    int run() {
      need(0, "auth disable command does not accept any arguments");
      call(() -> client().auth().authDisable(AuthDisableRequest.getDefaultInstance()));
      out.println("Authentication Disabled");
      return 0;
    }
  }

  @Command(
      name = "user",
      description = "User related commands",
      subcommands = {
        UserAdd.class,
        UserDelete.class,
        UserGet.class,
        UserList.class,
        UserPasswd.class,
        UserGrantRole.class,
        UserRevokeRole.class
      })
  static final class User {}

  @Command(name = "add", description = "Adds a new user")
  static final class UserAdd extends AuthCommand {
    @Option(names = "--interactive", arity = "0..1", fallbackValue = "true")
    boolean interactive = true;

    @Option(names = "--new-user-password")
    String newPassword = "";

    @Option(names = "--no-password", arity = "0..1", fallbackValue = "true")
    boolean noPassword;

    @Override
    int run() {
      need(1, "user add command requires user name as its argument");
      String name = args.get(0);
      String pw;
      int colon = name.indexOf(':');
      if (colon >= 0) {
        pw = name.substring(colon + 1);
        name = name.substring(0, colon);
      } else if (!newPassword.isEmpty()) {
        pw = newPassword;
      } else if (!interactive) {
        pw = password("");
      } else {
        pw = password("Password of " + name + ": ");
        String again = password("Type password of " + name + " again for confirmation: ");
        if (!pw.equals(again)) {
          throw badArgs("given passwords are different");
        }
      }
      String user = name;
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .userAdd(
                          AuthUserAddRequest.newBuilder().setName(user).setPassword(pw).build()));
      print(r, "User " + user + " created");
      return 0;
    }
  }

  @Command(name = "delete", description = "Deletes a user")
  static final class UserDelete extends AuthCommand {
    @Override
    int run() {
      need(1, "user delete command requires user name as its argument");
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .userDelete(AuthUserDeleteRequest.newBuilder().setName(args.get(0)).build()));
      print(r, "User " + args.get(0) + " deleted");
      return 0;
    }
  }

  @Command(name = "get", description = "Gets detailed information of a user")
  static final class UserGet extends AuthCommand {
    @Option(names = "--detail", arity = "0..1", fallbackValue = "true")
    boolean detail;

    @Override
    int run() {
      need(1, "user get command requires user name as its argument");
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .userGet(AuthUserGetRequest.newBuilder().setName(args.get(0)).build()));
      if (!format().equals("simple")) {
        print(r, "");
        return 0;
      }
      out.println("User: " + args.get(0));
      if (!detail) {
        StringBuilder sb = new StringBuilder("Roles:");
        for (String role : r.getRolesList()) {
          sb.append(' ').append(role);
        }
        out.println(sb);
        return 0;
      }
      for (String role : r.getRolesList()) {
        out.println();
        printRole(this, role, roleGet(this, role));
      }
      return 0;
    }
  }

  @Command(name = "list", description = "Lists all users")
  static final class UserList extends AuthCommand {
    @Override
    int run() {
      var r = call(() -> client().auth().userList(AuthUserListRequest.getDefaultInstance()));
      if (!format().equals("simple")) {
        print(r, "");
        return 0;
      }
      r.getUsersList().forEach(out::println);
      return 0;
    }
  }

  @Command(name = "passwd", description = "Changes password of user")
  static final class UserPasswd extends AuthCommand {
    @Option(names = "--interactive", arity = "0..1", fallbackValue = "true")
    boolean interactive = true;

    @Override
    int run() {
      need(1, "user passwd command requires user name as its argument");
      String pw;
      if (!interactive) {
        pw = password("");
      } else {
        pw = password("Password of " + args.get(0) + ": ");
        String again = password("Type password of " + args.get(0) + " again for confirmation: ");
        if (!pw.equals(again)) {
          throw badArgs("given passwords are different");
        }
      }
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .userChangePassword(
                          AuthUserChangePasswordRequest.newBuilder()
                              .setName(args.get(0))
                              .setPassword(pw)
                              .build()));
      print(r, "Password updated");
      return 0;
    }
  }

  @Command(name = "grant-role", description = "Grants a role to a user")
  static final class UserGrantRole extends AuthCommand {
    @Override
    int run() {
      need(2, "user grant command requires user name and role name as its argument");
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .userGrantRole(
                          AuthUserGrantRoleRequest.newBuilder()
                              .setUser(args.get(0))
                              .setRole(args.get(1))
                              .build()));
      print(r, "Role " + args.get(1) + " is granted to user " + args.get(0));
      return 0;
    }
  }

  @Command(name = "revoke-role", description = "Revokes a role from a user")
  static final class UserRevokeRole extends AuthCommand {
    @Override
    int run() {
      need(2, "user revoke-role requires user name and role name as its argument");
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .userRevokeRole(
                          AuthUserRevokeRoleRequest.newBuilder()
                              .setName(args.get(0))
                              .setRole(args.get(1))
                              .build()));
      print(r, "Role " + args.get(1) + " is revoked from user " + args.get(0));
      return 0;
    }
  }

  @Command(
      name = "role",
      description = "Role related commands",
      subcommands = {
        RoleAdd.class,
        RoleDelete.class,
        RoleGet.class,
        RoleList.class,
        RoleGrant.class,
        RoleRevoke.class
      })
  static final class Role {}

  @Command(name = "add", description = "Adds a new role")
  static final class RoleAdd extends AuthCommand {
    @Override
    int run() {
      need(1, "role add command requires role name as its argument");
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .roleAdd(AuthRoleAddRequest.newBuilder().setName(args.get(0)).build()));
      print(r, "Role " + args.get(0) + " created");
      return 0;
    }
  }

  @Command(name = "delete", description = "Deletes a role")
  static final class RoleDelete extends AuthCommand {
    @Override
    int run() {
      need(1, "role delete command requires role name as its argument");
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .roleDelete(AuthRoleDeleteRequest.newBuilder().setRole(args.get(0)).build()));
      print(r, "Role " + args.get(0) + " deleted");
      return 0;
    }
  }

  static AuthRoleGetResponse roleGet(CtlCommand c, String role) {
    try {
      return c.client().auth().roleGet(AuthRoleGetRequest.newBuilder().setRole(role).build());
    } catch (StatusRuntimeException e) {
      throw Client.error(e);
    }
  }

  static void printRole(CtlCommand c, String role, AuthRoleGetResponse r) {
    c.out.println("Role " + role);
    for (String kind : List.of("Read", "Write")) {
      c.out.println("KV " + kind + ":");
      for (Permission p : r.getPermList()) {
        boolean match =
            p.getPermType() == Permission.Type.READWRITE
                || (kind.equals("Read")
                    ? p.getPermType() == Permission.Type.READ
                    : p.getPermType() == Permission.Type.WRITE);
        if (!match) {
          continue;
        }
        String key = p.getKey().toStringUtf8();
        if (p.getRangeEnd().isEmpty()) {
          c.out.println("\t" + key);
          continue;
        }
        String end = p.getRangeEnd().toStringUtf8();
        StringBuilder sb = new StringBuilder();
        if (!end.equals("\0")) {
          sb.append("\t[").append(key).append(", ").append(end).append(")");
        } else {
          sb.append("\t[").append(key).append(", <open ended>");
        }
        if (KvCommands.prefixEnd(p.getKey()).equals(p.getRangeEnd())) {
          sb.append(" (prefix ").append(key).append(")");
        }
        c.out.println(sb);
      }
    }
  }

  @Command(name = "get", description = "Gets detailed information of a role")
  static final class RoleGet extends AuthCommand {
    @Override
    int run() {
      need(1, "role get command requires role name as its argument");
      AuthRoleGetResponse r = roleGet(this, args.get(0));
      if (!format().equals("simple")) {
        print(r, "");
        return 0;
      }
      printRole(this, args.get(0), r);
      return 0;
    }
  }

  @Command(name = "list", description = "Lists all roles")
  static final class RoleList extends AuthCommand {
    @Override
    int run() {
      var r = call(() -> client().auth().roleList(AuthRoleListRequest.getDefaultInstance()));
      if (!format().equals("simple")) {
        print(r, "");
        return 0;
      }
      r.getRolesList().forEach(out::println);
      return 0;
    }
  }

  static KvCommands.Range permRange(List<String> args, int at, boolean prefix, boolean fromKey) {
    if (prefix && fromKey) {
      throw CtlCommand.badArgs("--from-key and --prefix flags are mutually exclusive");
    }
    List<String> rest = args.subList(at, args.size());
    if (prefix) {
      ByteString key = KvCommands.bytes(rest.get(0));
      return new KvCommands.Range(key, key.isEmpty() ? KvCommands.ZERO : KvCommands.prefixEnd(key));
    }
    if (fromKey) {
      ByteString key = KvCommands.bytes(rest.get(0));
      return new KvCommands.Range(key.isEmpty() ? KvCommands.ZERO : key, KvCommands.ZERO);
    }
    return new KvCommands.Range(
        KvCommands.bytes(rest.get(0)),
        rest.size() > 1 ? KvCommands.bytes(rest.get(1)) : ByteString.EMPTY);
  }

  @Command(name = "grant-permission", description = "Grants a key to a role")
  static final class RoleGrant extends AuthCommand {
    @Option(names = "--prefix", arity = "0..1", fallbackValue = "true")
    boolean prefix;

    @Option(names = "--from-key", arity = "0..1", fallbackValue = "true")
    boolean fromKey;

    @Override
    int run() {
      if (args.size() < 3) {
        throw badArgs(
            "role grant command requires role name, permission type, and key [endkey] as its argument");
      }
      Permission.Type t =
          switch (args.get(1).toLowerCase(java.util.Locale.ROOT)) {
            case "read" -> Permission.Type.READ;
            case "write" -> Permission.Type.WRITE;
            case "readwrite" -> Permission.Type.READWRITE;
            default -> throw badArgs("invalid permission type " + args.get(1));
          };
      KvCommands.Range rg = permRange(args, 2, prefix, fromKey);
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .roleGrantPermission(
                          AuthRoleGrantPermissionRequest.newBuilder()
                              .setName(args.get(0))
                              .setPerm(
                                  Permission.newBuilder()
                                      .setPermType(t)
                                      .setKey(rg.key())
                                      .setRangeEnd(rg.end()))
                              .build()));
      print(r, "Role " + args.get(0) + " updated");
      return 0;
    }
  }

  @Command(name = "revoke-permission", description = "Revokes a key from a role")
  static final class RoleRevoke extends AuthCommand {
    @Option(names = "--prefix", arity = "0..1", fallbackValue = "true")
    boolean prefix;

    @Option(names = "--from-key", arity = "0..1", fallbackValue = "true")
    boolean fromKey;

    @Override
    int run() {
      if (args.size() < 2) {
        throw badArgs(
            "role revoke-permission command requires role name and key [endkey] as its argument");
      }
      KvCommands.Range rg = permRange(args, 1, prefix, fromKey);
      var r =
          call(
              () ->
                  client()
                      .auth()
                      .roleRevokePermission(
                          AuthRoleRevokePermissionRequest.newBuilder()
                              .setRole(args.get(0))
                              .setKey(rg.key())
                              .setRangeEnd(rg.end())
                              .build()));
      String key = rg.key().toStringUtf8();
      String end = rg.end().toStringUtf8();
      String text;
      if (end.isEmpty()) {
        text = "Permission of key " + key + " is revoked from role " + args.get(0);
      } else if (!end.equals("\0")) {
        text = "Permission of range [" + key + ", " + end + ") is revoked from role " + args.get(0);
      } else {
        text = "Permission of range [" + key + ", <open ended> is revoked from role " + args.get(0);
      }
      print(r, text);
      return 0;
    }
  }
}
