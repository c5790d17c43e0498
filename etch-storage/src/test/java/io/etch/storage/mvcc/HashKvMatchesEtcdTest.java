package io.etch.storage.mvcc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * hashKV equals etcd's for the same history, before and after compactions, at the current revision
 * and at older ones, with etcd's compact revision.
 *
 * <p>The expected figures come from a real etcd 3.4.23 (Debian's {@code etcd-server}): a fresh
 * single member on 127.0.0.1 with ephemeral ports, the writes below issued one by one with {@code
 * etcdctl put K V} / {@code etcdctl del K} / {@code etcdctl compaction REV}, and each hash read
 * with {@code etcdctl endpoint hashkv -w json [--rev REV]} ("hash" printed unsigned, "header"
 * revision, "compact_revision", which etcd reports as -1 before the first compaction where this
 * store says 0). Every etcdctl put or del is one write transaction, as each {@link #put} here.
 */
class HashKvMatchesEtcdTest extends MvccTestSupport {
  private void assertHash(long rev, long etcdHash, long headerRevision, long compactRevision) {
    HashKVResponse r = store.hashKV(rev);
    assertThat(Integer.toUnsignedLong(r.hash())).as("hashKV at %d", rev).isEqualTo(etcdHash);
    assertThat(r.header().revision()).isEqualTo(headerRevision);
    assertThat(r.compactRevision()).isEqualTo(compactRevision);
  }

  @Test
  void aKeyDeletedAfterTheCompactionIsNotHashedBelowIt() {
    put("a", "1"); // 2
    put("b", "2"); // 3
    assertHash(3, 1827592406L, 3, 0); // etcd: compact_revision -1
    delete("a"); // 4
    compact(3);
    assertHash(0, 776148148L, 4, 3);
    assertHash(4, 776148148L, 4, 3);
    // etcd 3.4 refuses a hash at the compact revision itself.
    assertThatThrownBy(() -> store.hashKV(3))
        .hasMessage("mvcc: required revision has been compacted");
  }

  @Test
  void revisionsBelowTheCompactionCountOnlyWhileTheyAreTheNewestAtTheHashedRevision() {
    put("a", "1"); // 2
    put("b", "2"); // 3
    put("c", "3"); // 4
    put("a", "4"); // 5
    delete("b"); // 6
    put("d", "5"); // 7
    assertHash(5, 2349251645L, 7, 0);
    compact(5);
    assertHash(0, 552088441L, 7, 5);
    assertHash(6, 1917557686L, 7, 5);
    assertHash(7, 552088441L, 7, 5);
    put("c", "6"); // 8
    delete("d"); // 9
    assertHash(0, 1653768064L, 9, 5);
    assertHash(8, 3243897691L, 9, 5);
    compact(8);
    assertHash(0, 3843985715L, 9, 8);
    assertHash(9, 3843985715L, 9, 8);
    // The same after a restart: rebuilt index, physical compaction finished.
    reopen();
    assertHash(9, 3843985715L, 9, 8);
  }

  @Test
  void withNoKeyLiveAtTheHashedRevisionEtcdHashesWhatCompactionKept() {
    put("a", "1"); // 2
    delete("a"); // 3
    compact(2);
    assertHash(0, 3520211144L, 3, 2);
    assertHash(3, 3520211144L, 3, 2);
    put("b", "2"); // 4
    assertHash(3, 3520211144L, 4, 2);
    assertHash(0, 308633251L, 4, 2);
  }
}
