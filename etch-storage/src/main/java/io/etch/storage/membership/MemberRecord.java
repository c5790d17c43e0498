package io.etch.storage.membership;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** A cluster member as persisted: id, name, peer and client URLs, and whether it is a learner. */
public record MemberRecord(
    long id, String name, List<String> peerURLs, List<String> clientURLs, boolean isLearner) {
  private static final int FORMAT = 1;

  public MemberRecord {
    name = name == null ? "" : name;
    peerURLs = peerURLs == null ? List.of() : List.copyOf(peerURLs);
    clientURLs = clientURLs == null ? List.of() : List.copyOf(clientURLs);
  }

  public byte[] encode() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeByte(FORMAT);
      out.writeLong(id);
      out.writeUTF(name);
      writeList(out, peerURLs);
      writeList(out, clientURLs);
      out.writeBoolean(isLearner);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static MemberRecord decode(byte[] b) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
      int format = in.readUnsignedByte();
      if (format != FORMAT) {
        throw new IllegalArgumentException("unknown member record format " + format);
      }
      long id = in.readLong();
      String name = in.readUTF();
      List<String> peers = readList(in);
      List<String> clients = readList(in);
      boolean learner = in.readBoolean();
      return new MemberRecord(id, name, peers, clients, learner);
    } catch (IOException e) {
      throw new IllegalArgumentException("malformed member record", e);
    }
  }

  private static void writeList(DataOutputStream out, List<String> l) throws IOException {
    out.writeInt(l.size());
    for (String s : l) {
      out.writeUTF(s);
    }
  }

  private static List<String> readList(DataInputStream in) throws IOException {
    int n = in.readInt();
    List<String> l = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      l.add(in.readUTF());
    }
    return l;
  }
}
