package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etch.storage.lease.LeaseRecord;
import io.etch.storage.membership.MemberRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DurabilityTest extends MvccTestSupport {

  @Test
  void restartKeepsDataRevisionCompactRevisionAndConsistentIndex() {
    put("a", "1"); // 2
    put("b", "1"); // 3
    put("a", "2"); // 4
    delete("b"); // 5
    compact(3);
    int hash = store.hashKV(0).hash();
    long index = store.consistentIndex();
    reopen();
    assertThat(store.currentRevision()).isEqualTo(5);
    assertThat(store.compactRevision()).isEqualTo(3);
    assertThat(store.consistentIndex()).isEqualTo(index).isEqualTo(5);
    assertThat(store.term()).isEqualTo(1);
    assertThat(get("a")).isEqualTo(kv("a", 2, 4, 2, "2"));
    assertThat(get("b")).isNull();
    assertThat(store.hashKV(0).hash()).isEqualTo(hash);
    // A write after the restart continues the version and revision sequence.
    assertThat(put("a", "3").header().revision()).isEqualTo(6);
    assertThat(get("a").version()).isEqualTo(3);
  }

  @Test
  void consistentIndexIsWrittenInTheSameBatchAsTheChanges() {
    try (ApplyBatch batch = store.newBatch()) {
      batch.put(PutRequest.of(b("a"), b("1")));
      batch.setConsistentIndex(10, 2);
      // Not committed: neither the change nor the index is visible or durable.
      assertThat(store.consistentIndex()).isZero();
    }
    // The abandoned batch changed the index: the store refuses use until reopened.
    assertThatThrownBy(() -> get("a")).isInstanceOf(StorageException.class);
    reopen();
    assertThat(store.consistentIndex()).isZero();
    assertThat(store.currentRevision()).isEqualTo(1); // still empty: etcd's revision 1
    assertThat(get("a")).isNull();
    try (ApplyBatch batch = store.newBatch()) {
      batch.put(PutRequest.of(b("a"), b("1")));
      batch.setConsistentIndex(10, 2);
      batch.commit();
    }
    reopen();
    assertThat(store.consistentIndex()).isEqualTo(10);
    assertThat(store.term()).isEqualTo(2);
    assertThat(get("a").value()).isEqualTo(b("1"));
  }

  @Test
  void consistentIndexNeverGoesBackSoReplayedEntriesAreRefused() {
    put("a", "1"); // index 1
    try (ApplyBatch batch = store.newBatch()) {
      assertThatThrownBy(() -> batch.setConsistentIndex(1, 1))
          .isInstanceOf(IllegalStateException.class);
    }
    assertThat(get("a")).isNotNull(); // that batch changed nothing: the store is still usable
  }

  @Test
  void leaseAndMemberRecordsPersistAndKeysByLeaseAreDerived() {
    try (ApplyBatch batch = store.newBatch()) {
      batch.putLease(new LeaseRecord(7, 60, 0));
      batch.putLease(new LeaseRecord(8, 30, 12));
      batch.putMember(
          new MemberRecord(1, "m1", List.of("http://a:2380"), List.of("http://a:2379"), false));
      batch.putMember(new MemberRecord(2, "m2", List.of("http://b:2380"), List.of(), true));
      batch.put(new PutRequest(b("x"), b("1"), 7, false, false, false));
      batch.put(new PutRequest(b("y"), b("1"), 7, false, false, false));
      batch.commit();
    }
    try (ApplyBatch batch = store.newBatch()) {
      batch.deleteLease(8);
      batch.removeMember(2);
      batch.commit();
    }
    reopen();
    assertThat(store.leases()).containsExactly(new LeaseRecord(7, 60, 0));
    assertThat(store.members())
        .containsExactly(
            new MemberRecord(1, "m1", List.of("http://a:2380"), List.of("http://a:2379"), false));
    Map<Long, List<byte[]>> leased = store.leasedKeys();
    assertThat(leased.keySet()).containsExactly(7L);
    assertThat(leased.get(7L)).extracting(MvccTestSupport::s).containsExactly("x", "y");
  }

  @Test
  void checkpointOpensAsAStoreWithTheSameState() {
    put("a", "1"); // 2
    put("a", "2"); // 3
    compact(2);
    put("b", "1"); // 4
    Path cp = tmp.resolve("checkpoint");
    store.checkpoint(cp);
    put("c", "after-checkpoint");
    try (MvccStore copy = MvccStore.open(cp)) {
      assertThat(copy.currentRevision()).isEqualTo(4);
      assertThat(copy.compactRevision()).isEqualTo(2);
      assertThat(copy.consistentIndex()).isEqualTo(4);
      assertThat(copy.hashKV(4).hash()).isEqualTo(store.hashKV(4).hash());
      assertThat(copy.range(RangeRequest.of(b("c"))).kvs()).isEmpty();
    }
  }

  @Test
  void directoryLockedByAnotherStoreGivesAClearErrorAndLeavesDataIntact() {
    put("a", "1");
    assertThatThrownBy(() -> MvccStore.open(tmp.resolve("db")))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("cannot open MVCC store at " + tmp.resolve("db"))
        .hasMessageContaining("lock");
    assertThat(get("a").value()).isEqualTo(b("1"));
    reopen();
    assertThat(get("a").value()).isEqualTo(b("1"));
  }

  @Test
  void pathThatIsAFileGivesAClearError() throws Exception {
    Path file = Files.writeString(tmp.resolve("not-a-dir"), "data");
    assertThatThrownBy(() -> MvccStore.open(file))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("cannot open MVCC store at " + file);
    assertThat(Files.readString(file)).isEqualTo("data");
  }

  @Test
  void corruptHistoryGivesAClearErrorAtOpen() throws Exception {
    put("a", "1");
    store.flush();
    store.close();
    store = null;
    Path db = tmp.resolve("db");
    try (var files = Files.list(db)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".sst")).toList()) {
        byte[] bytes = Files.readAllBytes(f);
        for (int i = 0; i < Math.min(bytes.length, 4096); i++) {
          bytes[i] ^= (byte) 0x5a;
        }
        Files.write(f, bytes);
      }
    }
    assertThatThrownBy(() -> MvccStore.open(db))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining(db.toString());
  }
}
