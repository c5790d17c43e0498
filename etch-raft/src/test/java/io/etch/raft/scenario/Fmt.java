package io.etch.raft.scenario;

import io.etch.raft.ConfChange;
import io.etch.raft.ConfChange.ConfChangeSingle;
import io.etch.raft.ConfChangeTransition;
import io.etch.raft.ConfState;
import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import io.etch.raft.Message;
import io.etch.raft.Snapshot;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import java.util.StringJoiner;
import java.util.TreeSet;

/**
 * The scenario files' stable text forms. Independent of the core's toString methods so that a
 * cosmetic change there does not rewrite every scenario, and richer: entry data, conf changes and
 * read contexts are shown.
 */
final class Fmt {
  private Fmt() {}

  static String msg(Message m) {
    StringBuilder sb = new StringBuilder();
    sb.append(m.from()).append("->").append(m.to()).append(' ').append(m.type());
    sb.append(" Term:").append(m.term());
    sb.append(" Log:").append(m.logTerm()).append('/').append(m.index());
    if (m.reject()) {
      sb.append(" Rejected (Hint: ").append(m.rejectHint()).append(')');
    }
    if (m.commit() != 0) {
      sb.append(" Commit:").append(m.commit());
    }
    if (!m.entries().isEmpty()) {
      sb.append(" Entries:[").append(entries(m.entries(), ", ")).append(']');
    }
    if (m.snapshot() != null && !m.snapshot().isEmpty()) {
      sb.append(" Snapshot:[").append(snapshot(m.snapshot())).append(']');
    }
    if (m.context() != null && m.context().length > 0) {
      sb.append(" Ctx:").append(data(m.context()));
    }
    return sb.toString();
  }

  static String entries(List<Entry> ents, String sep) {
    StringJoiner j = new StringJoiner(sep);
    for (Entry e : ents) {
      j.add(entry(e));
    }
    return j.toString();
  }

  static String entry(Entry e) {
    String head = e.term() + "/" + e.index();
    if (e.type() == EntryType.CONF_CHANGE) {
      try {
        return head + " CC " + confChange(ConfChange.decode(e.data()));
      } catch (IllegalArgumentException ex) {
        return head + " CC <undecodable>";
      }
    }
    return head + " " + data(e.data());
  }

  static String data(byte[] d) {
    return '"' + new String(d, StandardCharsets.UTF_8) + '"';
  }

  /** The command syntax: {@code v4 l5 r2 u3}, then the transition if not auto; "leave" if empty. */
  static String confChange(ConfChange cc) {
    if (cc.isLeaveJoint()) {
      return "leave";
    }
    StringJoiner j = new StringJoiner(" ");
    for (ConfChangeSingle c : cc.changes()) {
      String p =
          switch (c.type()) {
            case ADD_NODE -> "v";
            case ADD_LEARNER_NODE -> "l";
            case REMOVE_NODE -> "r";
            case UPDATE_NODE -> "u";
          };
      j.add(p + c.nodeId());
    }
    if (cc.transition() != ConfChangeTransition.AUTO) {
      j.add("transition=" + cc.transition().name().toLowerCase().replace('_', '-'));
    }
    return j.toString();
  }

  static String confState(ConfState cs) {
    StringBuilder sb = new StringBuilder("voters=").append(ids(cs.voters()));
    if (cs.isJoint()) {
      sb.append("&&").append(ids(cs.votersOutgoing()));
    }
    if (!cs.learners().isEmpty()) {
      sb.append(" learners=").append(ids(cs.learners()));
    }
    if (!cs.learnersNext().isEmpty()) {
      sb.append(" learners_next=").append(ids(cs.learnersNext()));
    }
    if (cs.autoLeave()) {
      sb.append(" autoleave");
    }
    return sb.toString();
  }

  static String ids(Collection<Long> ids) {
    StringJoiner j = new StringJoiner(" ", "(", ")");
    for (long id : new TreeSet<>(ids)) {
      j.add(Long.toString(id));
    }
    return j.toString();
  }

  static String snapshot(Snapshot s) {
    return "index="
        + s.index()
        + " term="
        + s.term()
        + " "
        + confState(s.metadata().confState())
        + " data="
        + data(s.data());
  }
}
