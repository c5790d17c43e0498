package io.etch.raft.scenario;

import io.etch.raft.ConfChange;
import io.etch.raft.ConfChange.ConfChangeSingle;
import io.etch.raft.ConfChangeTransition;
import io.etch.raft.ConfChangeType;
import io.etch.raft.ConfState;
import io.etch.raft.Config;
import io.etch.raft.Entry;
import io.etch.raft.EntryType;
import io.etch.raft.HardState;
import io.etch.raft.MemoryStorage;
import io.etch.raft.Message;
import io.etch.raft.MessageType;
import io.etch.raft.RaftException;
import io.etch.raft.RawNode;
import io.etch.raft.ReadOnlyOption;
import io.etch.raft.ReadState;
import io.etch.raft.Ready;
import io.etch.raft.Snapshot;
import io.etch.raft.Status;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * The world a scenario runs in: raft nodes on {@link MemoryStorage}, driven only through the public
 * {@link RawNode} API, and a network that is a FIFO queue of messages which the scenario delivers,
 * drops or cuts explicitly. Nothing happens unless a command says so: no clock, no randomness
 * (election timeouts are exactly {@code electionTick}, the jitter source always answers 0).
 *
 * <p>Runner defaults differ from {@link Config.Builder}'s on purpose: pre-vote and check-quorum are
 * off unless a scenario turns them on, so that each scenario states the features it relies on.
 */
final class Env {

  /** Options of one node, kept so that {@code restart} rebuilds it identically. */
  record Opts(
      int election,
      int heartbeat,
      boolean preVote,
      boolean checkQuorum,
      int maxInflight,
      long maxSizePerMsg,
      long maxUncommitted,
      ReadOnlyOption readOnly,
      boolean disableForwarding) {}

  static final class Node {
    final long id;
    final MemoryStorage storage;
    final Opts opts;
    final Jitter jitter;
    RawNode rn;

    Node(long id, MemoryStorage storage, Opts opts, Jitter jitter) {
      this.id = id;
      this.storage = storage;
      this.opts = opts;
      this.jitter = jitter;
      this.rn = new RawNode(config(id, storage, opts, jitter));
    }
  }

  /**
   * The election jitter a node draws: 0 unless {@code set-jitter} says otherwise, so that a
   * scenario's election timeout is exactly electionTick plus a value it chose.
   */
  static final class Jitter implements RandomGenerator {
    int value;

    @Override
    public long nextLong() {
      return 0;
    }

    @Override
    public int nextInt(int bound) {
      return Math.min(value, bound - 1);
    }
  }

  final TreeMap<Long, Node> nodes = new TreeMap<>();
  final List<Message> network = new ArrayList<>();
  private final Set<String> cut = new HashSet<>();
  private boolean verbose = true;
  private List<String> out;

  static Config config(long id, MemoryStorage s, Opts o, RandomGenerator random) {
    return Config.builder(id, s, random)
        .electionTick(o.election)
        .heartbeatTick(o.heartbeat)
        .preVote(o.preVote)
        .checkQuorum(o.checkQuorum)
        .maxInflightMsgs(o.maxInflight)
        .maxSizePerMsg(o.maxSizePerMsg)
        .maxUncommittedEntriesSize(o.maxUncommitted)
        .readOnlyOption(o.readOnly)
        .disableProposalForwarding(o.disableForwarding)
        .build();
  }

  /** Runs one command; returns its output lines ("ok" when it printed nothing). */
  List<String> run(Cmd c) {
    out = new ArrayList<>();
    switch (c.name) {
      case "add-nodes" -> addNodes(c);
      case "campaign" -> guarded(() -> node(c.id(0)).rn.campaign());
      case "tick" -> tick(c, c.intArg(1, 1));
      case "tick-election" -> {
        for (long id : c.ids()) {
          tickN(id, node(id).opts.election);
        }
      }
      case "tick-heartbeat" -> {
        for (long id : c.ids()) {
          tickN(id, node(id).opts.heartbeat);
        }
      }
      case "propose" -> guarded(() -> node(c.id(0)).rn.propose(bytes(c.pos(1))));
      case "propose-batch" -> {
        List<byte[]> batch = new ArrayList<>();
        for (int i = 1; i < c.positional.size(); i++) {
          batch.add(bytes(c.pos(i)));
        }
        guarded(() -> node(c.id(0)).rn.proposeBatch(batch));
      }
      case "propose-conf-change" -> guarded(() -> node(c.id(0)).rn.proposeConfChange(cc(c)));
      case "read-index" -> guarded(() -> node(c.id(0)).rn.readIndex(bytes(c.pos(1))));
      case "transfer-leader" ->
          guarded(() -> node(c.id(0)).rn.transferLeader(Long.parseLong(c.pos(1))));
      case "report-unreachable" ->
          guarded(() -> node(c.id(0)).rn.reportUnreachable(Long.parseLong(c.pos(1))));
      case "report-snapshot" ->
          guarded(
              () ->
                  node(c.id(0))
                      .rn
                      .reportSnapshot(Long.parseLong(c.pos(1)), !"fail".equals(c.pos(2))));
      case "process-ready" -> {
        for (long id : c.ids()) {
          Node n = node(id);
          if (n.rn.hasReady()) {
            processReady(n);
          }
        }
      }
      case "deliver-msgs" -> deliver(c.positional.isEmpty() ? null : c.ids(), c.idSet("drop"));
      case "stabilize" -> stabilize(c.positional.isEmpty() ? nodes.keySet() : c.ids());
      case "msgs" -> {
        for (Message m : network) {
          out.add(Fmt.msg(m));
        }
      }
      case "cut" -> {
        long a = c.id(0);
        for (int i = 1; i < c.positional.size(); i++) {
          long b = c.id(i);
          cut.add(a + "-" + b);
          cut.add(b + "-" + a);
        }
      }
      case "isolate" -> {
        long a = c.id(0);
        for (long b : nodes.keySet()) {
          if (b != a) {
            cut.add(a + "-" + b);
            cut.add(b + "-" + a);
          }
        }
      }
      case "heal" -> cut.clear();
      case "snapshot" -> snapshot(node(c.id(0)));
      case "compact" -> guarded(() -> node(c.id(0)).storage.compact(Long.parseLong(c.pos(1))));
      case "restart" -> restart(node(c.id(0)));
      case "status" -> status(node(c.id(0)));
      case "raft-state" -> raftState();
      case "raft-log" -> raftLog(node(c.id(0)));
      case "inject" -> inject(c);
      case "set-jitter" -> node(c.id(0)).jitter.value = Integer.parseInt(c.pos(1));
      case "log-level" -> verbose = !"none".equals(c.pos(0));
      default -> throw new ScenarioException("unknown command " + c.name);
    }
    if (out.isEmpty()) {
      out.add("ok");
    }
    return out;
  }

  // ------------------------------------------------------------------ commands

  private void addNodes(Cmd c) {
    int n = Integer.parseInt(c.pos(0));
    long first = nodes.isEmpty() ? 1 : nodes.lastKey() + 1;
    List<Long> voters = c.idList("voters");
    Opts o =
        new Opts(
            c.intKv("election", 10),
            c.intKv("heartbeat", 1),
            c.boolKv("prevote", false),
            c.boolKv("checkquorum", false),
            c.intKv("max-inflight", 256),
            c.longKv("max-size", 0),
            c.longKv("max-uncommitted", 0),
            "lease".equals(c.kv.get("read-only"))
                ? ReadOnlyOption.LEASE_BASED
                : ReadOnlyOption.SAFE,
            c.boolKv("disable-forwarding", false));
    for (long id = first; id < first + n; id++) {
      MemoryStorage s;
      if (voters == null || voters.isEmpty()) {
        s = new MemoryStorage(); // joins later: learns the configuration from the leader
      } else {
        s = MemoryStorage.withVoters(voters.stream().mapToLong(Long::longValue).toArray());
      }
      nodes.put(id, new Node(id, s, o, new Jitter()));
    }
  }

  private void tick(Cmd c, int n) {
    tickN(c.id(0), n);
  }

  private void tickN(long id, int n) {
    for (int i = 0; i < n; i++) {
      guarded(() -> node(id).rn.tick());
    }
  }

  private ConfChange cc(Cmd c) {
    List<ConfChangeSingle> changes = new ArrayList<>();
    for (int i = 1; i < c.positional.size(); i++) {
      String t = c.pos(i);
      ConfChangeType type =
          switch (t.charAt(0)) {
            case 'v' -> ConfChangeType.ADD_NODE;
            case 'l' -> ConfChangeType.ADD_LEARNER_NODE;
            case 'r' -> ConfChangeType.REMOVE_NODE;
            case 'u' -> ConfChangeType.UPDATE_NODE;
            default -> throw new ScenarioException("bad conf change " + t);
          };
      changes.add(new ConfChangeSingle(type, Long.parseLong(t.substring(1))));
    }
    String tr = c.kv.getOrDefault("transition", "auto");
    ConfChangeTransition transition =
        switch (tr) {
          case "auto" -> ConfChangeTransition.AUTO;
          case "joint-implicit", "implicit" -> ConfChangeTransition.JOINT_IMPLICIT;
          case "joint-explicit", "explicit" -> ConfChangeTransition.JOINT_EXPLICIT;
          default -> throw new ScenarioException("bad transition " + tr);
        };
    return new ConfChange(transition, changes, null);
  }

  /** Persists, sends, applies and advances one Ready, printing what it held. */
  void processReady(Node n) {
    Ready rd = n.rn.ready();
    log("> " + n.id + " handling Ready");
    if (rd.softState() != null) {
      log("  State:" + rd.softState().role() + " Lead:" + rd.softState().leader());
    }
    if (rd.hardState() != null) {
      HardState hs = rd.hardState();
      log("  HardState Term:" + hs.term() + " Vote:" + hs.vote() + " Commit:" + hs.commit());
    }
    if (!rd.snapshot().isEmpty()) {
      log("  Snapshot " + Fmt.snapshot(rd.snapshot()));
    }
    if (!rd.entries().isEmpty()) {
      log("  Entries: " + Fmt.entries(rd.entries(), ", "));
    }
    if (!rd.committedEntries().isEmpty()) {
      log("  Committed: " + Fmt.entries(rd.committedEntries(), ", "));
    }
    for (ReadState rs : rd.readStates()) {
      log("  ReadState index=" + rs.index() + " ctx=" + Fmt.data(rs.requestContext()));
    }
    for (Message m : rd.messages()) {
      log("  " + Fmt.msg(m));
    }
    if (!rd.snapshot().isEmpty()) {
      n.storage.applySnapshot(rd.snapshot());
    }
    n.storage.append(rd.entries());
    if (rd.hardState() != null) {
      n.storage.setHardState(rd.hardState());
    }
    network.addAll(rd.messages());
    for (Entry e : rd.committedEntries()) {
      if (e.type() == EntryType.CONF_CHANGE) {
        ConfChange cc = ConfChange.decode(e.data());
        try {
          ConfState cs = n.rn.applyConfChange(cc);
          log("  INFO " + n.id + " applied " + Fmt.confChange(cc) + ": " + Fmt.confState(cs));
        } catch (RaftException ex) {
          always("  INFO " + n.id + " refused " + Fmt.confChange(cc) + ": " + ex.getMessage());
        }
      }
    }
    n.rn.advance(rd);
  }

  /** Delivers queued messages to {@code to} (all if null), dropping those to {@code drop}. */
  private boolean deliver(List<Long> to, Set<Long> drop) {
    boolean any = false;
    TreeMap<Long, List<Message>> byNode = new TreeMap<>();
    for (Iterator<Message> it = network.iterator(); it.hasNext(); ) {
      Message m = it.next();
      if (to == null || to.contains(m.to())) {
        byNode.computeIfAbsent(m.to(), k -> new ArrayList<>()).add(m);
        it.remove();
      }
    }
    for (Map.Entry<Long, List<Message>> e : byNode.entrySet()) {
      any = true;
      Node n = nodes.get(e.getKey());
      log("> " + e.getKey() + " receiving messages");
      for (Message m : e.getValue()) {
        if (n == null || drop.contains(m.to()) || cut.contains(m.from() + "-" + m.to())) {
          log("  " + Fmt.msg(m) + " DROPPED");
          continue;
        }
        log("  " + Fmt.msg(m));
        stepGuarded(n, m);
      }
    }
    return any;
  }

  private void stepGuarded(Node n, Message m) {
    try {
      n.rn.step(m);
    } catch (RaftException ex) {
      always("  error: " + ex.error() + ": " + ex.getMessage());
    } catch (RuntimeException ex) {
      always("  CRASH: " + ex.getClass().getSimpleName() + ": " + ex.getMessage());
    }
  }

  private void stabilize(Iterable<Long> ids) {
    Set<Long> set = new LinkedHashSet<>();
    ids.forEach(set::add);
    for (int round = 0; round < 1000; round++) {
      boolean done = true;
      for (long id : set) {
        Node n = node(id);
        if (n.rn.hasReady()) {
          done = false;
          processReady(n);
        }
      }
      for (long id : set) {
        if (deliver(List.of(id), Set.of())) {
          done = false;
        }
      }
      if (done) {
        return;
      }
    }
    always("error: did not stabilize in 1000 rounds");
  }

  private void snapshot(Node n) {
    Status st = n.rn.status();
    long applied = st.applied();
    byte[] data = ("applied=" + applied).getBytes(StandardCharsets.UTF_8);
    try {
      Snapshot s = n.storage.createSnapshot(applied, st.confState(), data);
      out.add("snapshot " + Fmt.snapshot(s));
    } catch (RaftException ex) {
      out.add("error: " + ex.error() + ": " + ex.getMessage());
    }
  }

  /** Rebuilds the node from what it persisted; its volatile state (and Ready) is lost. */
  private void restart(Node old) {
    Node n = new Node(old.id, old.storage, old.opts, old.jitter);
    nodes.put(old.id, n);
    HardState hs = n.storage.hardState();
    out.add(
        old.id
            + " restarted: Term:"
            + hs.term()
            + " Vote:"
            + hs.vote()
            + " Commit:"
            + hs.commit()
            + " first="
            + n.storage.firstIndex()
            + " last="
            + n.storage.lastIndex());
  }

  private void status(Node n) {
    Status st = n.rn.status();
    HardState hs = st.hardState();
    out.add(
        n.id
            + ": "
            + st.softState().role()
            + " Term:"
            + hs.term()
            + " Vote:"
            + hs.vote()
            + " Commit:"
            + hs.commit()
            + " Lead:"
            + st.softState().leader()
            + " Applied:"
            + st.applied()
            + " "
            + Fmt.confState(st.confState())
            + (st.leadTransferee() != 0 ? " Transferee:" + st.leadTransferee() : ""));
    for (Map.Entry<Long, Status.ProgressView> e : st.progress().entrySet()) {
      Status.ProgressView p = e.getValue();
      out.add(
          "  "
              + e.getKey()
              + ": "
              + p.state()
              + " match="
              + p.match()
              + " next="
              + p.next()
              + (p.isLearner() ? " learner" : "")
              + (p.recentActive() ? "" : " inactive"));
    }
  }

  private void raftState() {
    for (Node n : nodes.values()) {
      Status st = n.rn.status();
      ConfState cs = st.confState();
      String kind =
          cs.voters().contains(n.id) || cs.votersOutgoing().contains(n.id)
              ? "Voter"
              : cs.learners().contains(n.id) ? "Learner" : "Non-Member";
      out.add(
          n.id
              + ": "
              + st.softState().role()
              + " ("
              + kind
              + ") Term:"
              + st.hardState().term()
              + " Lead:"
              + st.softState().leader()
              + " Commit:"
              + st.hardState().commit());
    }
  }

  private void raftLog(Node n) {
    MemoryStorage s = n.storage;
    long first = s.firstIndex();
    long last = s.lastIndex();
    if (first > 1) {
      out.add("compacted through " + (first - 1) + " (term " + s.term(first - 1) + ")");
    }
    if (last < first) {
      out.add("log is empty");
      return;
    }
    for (Entry e : s.entries(first, last + 1, Long.MAX_VALUE)) {
      out.add(Fmt.entry(e));
    }
  }

  /**
   * Steps a hand-made message into its recipient: {@code inject 9->1 HEARTBEAT term=5 commit=3}.
   * Keys: term, logterm, index, commit, reject, hint, ctx.
   */
  private void inject(Cmd c) {
    String[] ft = c.pos(0).split("->");
    long from = Long.parseLong(ft[0]);
    long to = Long.parseLong(ft[1]);
    MessageType type = MessageType.valueOf(c.pos(1));
    Message m =
        Message.builder(type)
            .from(from)
            .to(to)
            .term(c.longKv("term", 0))
            .logTerm(c.longKv("logterm", 0))
            .index(c.longKv("index", 0))
            .commit(c.longKv("commit", 0))
            .reject(c.boolKv("reject", false))
            .rejectHint(c.longKv("hint", 0))
            .context(c.kv.containsKey("ctx") ? bytes(c.kv.get("ctx")) : null)
            .build();
    out.add("> " + to + " receiving " + Fmt.msg(m));
    stepGuarded(node(to), m);
  }

  // ------------------------------------------------------------------ helpers

  private void guarded(Runnable r) {
    try {
      r.run();
    } catch (RaftException ex) {
      out.add("error: " + ex.error() + ": " + ex.getMessage());
    } catch (ScenarioException ex) {
      throw ex;
    } catch (RuntimeException ex) {
      out.add("CRASH: " + ex.getClass().getSimpleName() + ": " + ex.getMessage());
    }
  }

  private void log(String line) {
    if (verbose) {
      out.add(line);
    }
  }

  private void always(String line) {
    out.add(line);
  }

  Node node(long id) {
    Node n = nodes.get(id);
    if (n == null) {
      throw new ScenarioException("no node " + id);
    }
    return n;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A parsed command line: name, positional arguments, key=value arguments. */
  static final class Cmd {
    final String name;
    final List<String> positional = new ArrayList<>();
    final Map<String, String> kv = new TreeMap<>();

    Cmd(String line) {
      String[] toks = line.trim().split("\\s+");
      name = toks[0];
      for (int i = 1; i < toks.length; i++) {
        int eq = toks[i].indexOf('=');
        if (eq > 0 && !toks[i].contains("->")) {
          kv.put(toks[i].substring(0, eq), toks[i].substring(eq + 1));
        } else {
          positional.add(toks[i]);
        }
      }
    }

    String pos(int i) {
      if (i >= positional.size()) {
        throw new ScenarioException(name + ": missing argument " + (i + 1));
      }
      return positional.get(i);
    }

    long id(int i) {
      return Long.parseLong(pos(i));
    }

    int intArg(int i, int dflt) {
      return i < positional.size() ? Integer.parseInt(positional.get(i)) : dflt;
    }

    List<Long> ids() {
      if (positional.isEmpty()) {
        throw new ScenarioException(name + ": needs node ids");
      }
      List<Long> ids = new ArrayList<>();
      for (String p : positional) {
        ids.add(Long.parseLong(p));
      }
      return ids;
    }

    /** {@code key=(1,2,3)} or {@code key=2}; null if absent. */
    List<Long> idList(String key) {
      String v = kv.get(key);
      if (v == null) {
        return null;
      }
      v = v.replace("(", "").replace(")", "");
      List<Long> ids = new ArrayList<>();
      for (String s : v.split(",")) {
        if (!s.isBlank()) {
          ids.add(Long.parseLong(s.trim()));
        }
      }
      return ids;
    }

    Set<Long> idSet(String key) {
      List<Long> l = idList(key);
      return l == null ? Set.of() : new TreeSet<>(l);
    }

    int intKv(String key, int dflt) {
      return kv.containsKey(key) ? Integer.parseInt(kv.get(key)) : dflt;
    }

    long longKv(String key, long dflt) {
      return kv.containsKey(key) ? Long.parseLong(kv.get(key)) : dflt;
    }

    boolean boolKv(String key, boolean dflt) {
      return kv.containsKey(key) ? Boolean.parseBoolean(kv.get(key)) : dflt;
    }
  }

  /** A mistake in the scenario file itself (not a behaviour of raft). */
  static final class ScenarioException extends RuntimeException {
    ScenarioException(String msg) {
      super(msg);
    }
  }
}
