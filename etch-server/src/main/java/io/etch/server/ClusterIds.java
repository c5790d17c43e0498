package io.etch.server;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Member and cluster IDs derived as etcd derives them, so the same flags give the same IDs: a
 * member's ID is the first 8 bytes (big-endian) of SHA-1 over its sorted peer URLs concatenated,
 * then the cluster token; the cluster's ID is the first 8 bytes of SHA-1 over the sorted member
 * IDs, each as 8 big-endian bytes.
 */
public final class ClusterIds {
  private ClusterIds() {}

  public static long memberId(Collection<URI> peerUrls, String clusterToken) {
    List<String> urls = new ArrayList<>();
    for (URI u : peerUrls) {
      urls.add(u.toString());
    }
    urls.sort(null);
    StringBuilder sb = new StringBuilder();
    for (String u : urls) {
      sb.append(u);
    }
    sb.append(clusterToken);
    return first8(sha1(sb.toString().getBytes(StandardCharsets.UTF_8)));
  }

  public static long clusterId(Collection<Long> memberIds) {
    List<Long> ids = new ArrayList<>(memberIds);
    ids.sort(Long::compareUnsigned);
    ByteBuffer b = ByteBuffer.allocate(8 * ids.size());
    for (long id : ids) {
      b.putLong(id);
    }
    return first8(sha1(b.array()));
  }

  private static byte[] sha1(byte[] in) {
    try {
      return MessageDigest.getInstance("SHA-1").digest(in);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long first8(byte[] h) {
    return ByteBuffer.wrap(h, 0, 8).getLong();
  }
}
