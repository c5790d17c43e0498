package io.etch.server.etcdctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcdctl's auth commands and the RBAC checks they set up, run against Debian's etcd 3.4 and etch
 * side by side: same exit codes, same error strings, same output.
 */
class AuthEtcdctlCompatTest {
  static final String ROOT = "--user=root:rootpw";
  static final String READER = "--user=reader:readerpw";

  @TempDir Path dir;
  SideBySide both;

  @BeforeEach
  void start() throws Exception {
    both = SideBySide.start(dir, "--bcrypt-cost=4");
  }

  @AfterEach
  void stop() throws Exception {
    if (both != null) {
      both.close();
    }
  }

  /** root, role "app" with READ on /app/ and WRITE on [w1, w3), user "reader" holding it. */
  private void setUpUsers() throws Exception {
    both.same("auth", "enable"); // no root yet
    both.same("user", "add", "root:rootpw");
    both.same("user", "add", "root:rootpw"); // already exists
    both.same("role", "add", "");
    both.same("auth", "enable"); // etcdctl adds the root role and grants it, then enables
    both.same("get", "foo"); // no user any more
    both.same(ROOT, "role", "add", "app");
    both.same(ROOT, "role", "add", "app");
    both.same(ROOT, "role", "grant-permission", "app", "read", "/app/", "--prefix");
    both.same(ROOT, "role", "grant-permission", "app", "write", "w1", "w3");
    both.same(ROOT, "role", "grant-permission", "nope", "write", "w1", "w3");
    both.same(ROOT, "user", "add", "reader:readerpw");
    both.same(ROOT, "user", "grant-role", "reader", "app");
    both.same(ROOT, "user", "grant-role", "reader", "nope");
    both.same(ROOT, "user", "grant-role", "nobody", "app");
    both.same(ROOT, "put", "/app/a", "1");
    both.same(ROOT, "put", "/other", "2");
  }

  @Test
  void userAndRoleManagementAnswersAsEtcd() throws Exception {
    setUpUsers();
    both.same(ROOT, "user", "list");
    both.same(ROOT, "role", "list");
    both.same(ROOT, "user", "get", "root");
    both.same(ROOT, "user", "get", "reader", "-w", "json");
    both.same(ROOT, "user", "get", "nobody");
    both.same(ROOT, "role", "get", "app");
    both.same(ROOT, "role", "get", "app", "-w", "json");
    both.same(ROOT, "role", "get", "nope");
    both.same(ROOT, "role", "revoke-permission", "app", "/zz");
    both.same(ROOT, "role", "revoke-permission", "nope", "/zz");
    both.same(ROOT, "user", "revoke-role", "reader", "nope");
    both.same(ROOT, "user", "delete", "nobody");
    both.same(ROOT, "role", "delete", "nope");
    // root stays root while auth is on
    both.same(ROOT, "user", "revoke-role", "root", "root");
    both.same(ROOT, "user", "delete", "root");
    both.same(ROOT, "role", "delete", "root");
    // a user reads its own record and roles, not others'
    both.same(READER, "user", "get", "reader");
    both.same(READER, "role", "get", "app");
    both.same(READER, "user", "list");
    both.same(READER, "role", "add", "x");
    both.same("--user=reader:wrong", "get", "/app/a");
    both.same("--user=nobody:x", "get", "/app/a");
    // a new password replaces the old one
    both.sameWithInput("newpw\n", ROOT, "user", "passwd", "reader", "--interactive=false");
    both.same("--user=reader:readerpw", "get", "/app/a");
    both.same("--user=reader:newpw", "get", "/app/a");
    both.same(ROOT, "user", "add", "nopw", "--no-password");
    both.same("--user=nopw:x", "get", "/app/a");
    both.same(ROOT, "auth", "disable");
    both.same("user", "list");
    both.same("auth", "enable");
    both.same("get", "/app/a");
  }

  @Test
  void aReaderOfAPrefixReadsItAndNothingElse() throws Exception {
    setUpUsers();
    both.same(READER, "get", "/app/a");
    both.same(READER, "get", "/app/", "--prefix");
    both.same(READER, "get", "/other");
    both.same(READER, "get", "", "--prefix");
    both.same(READER, "put", "/app/a", "x");
    both.same(READER, "del", "/app/a");
    both.same(READER, "put", "w1", "x");
    both.same(READER, "put", "w2", "x");
    both.same(READER, "put", "w3", "x");
    both.same(READER, "del", "w1", "w3");
    both.same(READER, "del", "w1", "w3", "--prev-kv");
    // a txn touching one forbidden key, in either branch, is refused whole
    both.sameWithInput("\nput w1 ok\n\nget /app/a\n", READER, "txn");
    both.sameWithInput("\nput w1 ok\n\nget /other\n", READER, "txn");
    both.sameWithInput("mod(\"/other\") > \"0\"\n\nput w1 ok\n\n", READER, "txn");
    both.same(ROOT, "get", "w1");
    both.same(READER, "watch", "/other");
    // Maintenance and cluster calls: which are root only, with etcd's own (odd) errors
    both.same(READER, "endpoint", "hashkv");
    both.same(READER, "defrag");
    both.same(READER, "alarm", "list");
    both.same(ROOT, "endpoint", "hashkv");
    // the reader loses its role: the same user is refused at once
    both.same(ROOT, "user", "revoke-role", "reader", "app");
    both.same(READER, "get", "/app/a");
    Etcdctl.Result etch = both.run(null, ROOT, "get", "/app/a").etch();
    assertThat(etch.out()).contains("/app/a");
  }
}
