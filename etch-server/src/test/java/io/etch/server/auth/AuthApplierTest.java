package io.etch.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etch.api.authpb.Permission;
import io.etch.api.etcdserverpb.AuthEnableRequest;
import io.etch.api.etcdserverpb.AuthRoleAddRequest;
import io.etch.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etch.api.etcdserverpb.AuthUserAddRequest;
import io.etch.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etch.api.etcdserverpb.LeaseRevokeRequest;
import io.etch.api.etcdserverpb.PutRequest;
import io.etch.api.internal.InternalRequest;
import io.etch.server.EtcdStatus;
import io.etch.server.EtcdStatusException;
import io.etch.server.config.EtchConfig;
import io.etch.storage.mvcc.ApplyBatch;
import io.etch.storage.mvcc.MvccStore;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The apply side alone: auth revisions, the apply-time re-check, persistence. */
class AuthApplierTest {
  @TempDir Path dir;
  MvccStore store;
  AuthStore auth;
  AuthApplier applier;
  long index;

  @BeforeEach
  void open() {
    store = MvccStore.open(dir.resolve("db"));
    auth =
        new AuthStore(
            store, EtchConfig.Auth.DEFAULTS, System::nanoTime, new Random(1), id -> Set.of());
    applier = new AuthApplier(auth);
  }

  @AfterEach
  void close() {
    store.close();
  }

  void apply(InternalRequest.Builder req) {
    try (ApplyBatch b = store.newBatch()) {
      InternalRequest r = req.build();
      applier.check(r);
      applier.apply(b, r, ++index);
      b.setConsistentIndex(index, 1);
      b.commit();
    }
  }

  static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  static String hash() {
    return Base64.getEncoder().encodeToString("$2a$04$notarealhash".getBytes());
  }

  void setUpWriter() {
    apply(
        InternalRequest.newBuilder()
            .setAuthUserAdd(
                AuthUserAddRequest.newBuilder().setName("root").setHashedPassword(hash())));
    apply(
        InternalRequest.newBuilder()
            .setAuthUserGrantRole(
                AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root")));
    apply(
        InternalRequest.newBuilder().setAuthRoleAdd(AuthRoleAddRequest.newBuilder().setName("w")));
    apply(
        InternalRequest.newBuilder()
            .setAuthRoleGrantPermission(
                AuthRoleGrantPermissionRequest.newBuilder()
                    .setName("w")
                    .setPerm(
                        Permission.newBuilder()
                            .setPermType(Permission.Type.WRITE)
                            .setKey(bs("k")))));
    apply(
        InternalRequest.newBuilder()
            .setAuthUserAdd(
                AuthUserAddRequest.newBuilder().setName("u").setHashedPassword(hash())));
    apply(
        InternalRequest.newBuilder()
            .setAuthUserGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("u").setRole("w")));
    apply(
        InternalRequest.newBuilder()
            .setAuthEnable(AuthEnableRequest.getDefaultInstance())
            .setUsername("root")
            .setAuthRevision(1));
  }

  static InternalRequest put(String user, long authRevision) {
    return InternalRequest.newBuilder()
        .setUsername(user)
        .setAuthRevision(authRevision)
        .setPut(PutRequest.newBuilder().setKey(bs("k")).setValue(bs("v")))
        .build();
  }

  static EtcdStatus statusOf(Runnable r) {
    try {
      r.run();
      return null;
    } catch (EtcdStatusException e) {
      return e.status();
    }
  }

  @Test
  void everyChangeBumpsTheAuthRevisionButEnableAndNoOpsDoNot() {
    assertThat(auth.revision()).as("etcd starts at auth revision 1").isEqualTo(1);
    setUpWriter();
    // six changes; enabling does not count (etcd)
    assertThat(auth.revision()).isEqualTo(7);
    apply(
        InternalRequest.newBuilder()
            .setUsername("root")
            .setAuthRevision(7)
            .setAuthUserGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("u").setRole("w")));
    assertThat(auth.revision()).as("a duplicate grant changes nothing").isEqualTo(7);
  }

  @Test
  void aRequestCheckedAtAnOlderAuthRevisionIsRefusedAtApply() {
    setUpWriter();
    long rev = auth.revision();
    assertThat(statusOf(() -> applier.check(put("u", rev)))).isNull();
    apply(
        InternalRequest.newBuilder()
            .setUsername("root")
            .setAuthRevision(rev)
            .setAuthRoleAdd(AuthRoleAddRequest.newBuilder().setName("other")));
    assertThat(statusOf(() -> applier.check(put("u", rev))))
        .isEqualTo(EtcdStatus.AUTH_OLD_REVISION);
    assertThat(EtcdStatus.AUTH_OLD_REVISION.message())
        .isEqualTo("etcdserver: revision of auth store is old");
    assertThat(statusOf(() -> applier.check(put("u", rev + 1)))).isNull();
    // a client's request without a user is refused; the member's own (revision 0) passes
    assertThat(statusOf(() -> applier.check(put("", rev + 1)))).isEqualTo(EtcdStatus.USER_EMPTY);
    assertThat(statusOf(() -> applier.check(put("", 0)))).isNull();
    assertThat(
            statusOf(
                () ->
                    applier.check(
                        InternalRequest.newBuilder()
                            .setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(5))
                            .build())))
        .isNull();
    // a user without the permission; root may do anything
    assertThat(
            statusOf(
                () ->
                    applier.check(
                        put("u", rev + 1).toBuilder()
                            .setPut(PutRequest.newBuilder().setKey(bs("k2")))
                            .build())))
        .isEqualTo(EtcdStatus.PERMISSION_DENIED);
    assertThat(
            statusOf(
                () ->
                    applier.check(
                        put("root", rev + 1).toBuilder()
                            .setPut(PutRequest.newBuilder().setKey(bs("k2")))
                            .build())))
        .isNull();
    // Auth management needs root at apply too
    assertThatThrownBy(
            () ->
                applier.check(
                    InternalRequest.newBuilder()
                        .setUsername("u")
                        .setAuthRevision(rev + 1)
                        .setAuthRoleAdd(AuthRoleAddRequest.newBuilder().setName("x"))
                        .build()))
        .isInstanceOfSatisfying(
            EtcdStatusException.class,
            e -> assertThat(e.status()).isEqualTo(EtcdStatus.PERMISSION_DENIED));
  }

  @Test
  void stateIsReadBackFromTheStore() {
    setUpWriter();
    long rev = auth.revision();
    store.close();
    store = MvccStore.open(dir.resolve("db"));
    AuthStore reopened =
        new AuthStore(
            store, EtchConfig.Auth.DEFAULTS, System::nanoTime, new Random(1), id -> Set.of());
    assertThat(reopened.enabled()).isTrue();
    assertThat(reopened.revision()).isEqualTo(rev);
    assertThat(reopened.state().users.keySet()).containsExactly("root", "u");
    assertThat(reopened.state().roles.get("w").getKeyPermissionList()).hasSize(1);
    assertThat(new AuthApplier(reopened).handles(put("u", rev))).isFalse();
    assertThat(statusOf(() -> new AuthApplier(reopened).check(put("u", rev)))).isNull();
  }

  @Test
  void permissionsSplitAcrossRolesCoverARangeTogether() {
    var user = io.etch.api.authpb.User.newBuilder().addRoles("a").addRoles("b").build();
    var roles =
        java.util.Map.of(
            "a",
            io.etch.api.authpb.Role.newBuilder()
                .addKeyPermission(
                    Permission.newBuilder()
                        .setPermType(Permission.Type.READ)
                        .setKey(bs("a"))
                        .setRangeEnd(bs("m")))
                .build(),
            "b",
            io.etch.api.authpb.Role.newBuilder()
                .addKeyPermission(
                    Permission.newBuilder()
                        .setPermType(Permission.Type.READWRITE)
                        .setKey(bs("m"))
                        .setRangeEnd(ByteString.copyFrom(new byte[] {0})))
                .build());
    Permissions p = Permissions.of(user, roles);
    assertThat(p.permits("c".getBytes(), "z".getBytes(), false)).isTrue();
    assertThat(p.permits("a".getBytes(), new byte[] {0}, false)).as("open-ended from a").isTrue();
    assertThat(p.permits("0".getBytes(), "b".getBytes(), false)).isFalse();
    assertThat(p.permits("c".getBytes(), new byte[0], true)).isFalse();
    assertThat(p.permits("zz".getBytes(), new byte[0], true)).isTrue();
    assertThat(p.permits("l".getBytes(), "n".getBytes(), true)).isFalse();
  }
}
