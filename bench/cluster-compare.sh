#!/usr/bin/env bash
# Side-by-side: a 3-member etch cluster vs a 3-member cluster of the installed etcd (Debian's
# etcd-server 3.4), on this machine, all members on 127.0.0.1, data on the same disk. One cluster
# runs at a time, alternating etcd, etch, etcd, etch (ROUNDS rounds) so machine noise falls on
# both; each round starts a fresh cluster. In each: put and linearizable range at 100 connections /
# 1000 clients spread over the three members (etchctl bench), then FAILOVERS times: a light write
# load through the two followers (bench/FailoverProbe.java), SIGKILL of the leader, time until the
# first write started after the kill succeeds; the killed member is restarted before the next.
# Prints a table with etch/etcd ratios and writes it to bench/results/<date>-cluster.md.
#
# Usage: bench/cluster-compare.sh   (the quick look below took 11 minutes on 2 busy cores; the
# defaults take longer)
# Quick look: PUT_TOTAL=20000 RANGE_TOTAL=20000 FAILOVERS=2 bench/cluster-compare.sh
# Needs: /usr/bin/etcd and /usr/bin/etcdctl (apt-get install -y etcd-server etcd-client), jq, a JDK.
# KEEP_LOGS=1 keeps the members' logs and the writers' timings (their path is printed).
# Exit code: 0 when every member started and every run succeeded; 1 otherwise (the table is still
# written when the runs got that far, with the failures in it; logs are kept and their path shown).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
etchctl="$root/bin/etchctl"
BENCH_NAME=cluster
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
export ETCDCTL_API=3

ROUNDS="${ROUNDS:-2}"                   # etch, etcd per round
PUT_TOTAL="${PUT_TOTAL:-100000}"        # put at 100 conns / 1000 clients
RANGE_TOTAL="${RANGE_TOTAL:-100000}"    # linearizable range at 100 conns / 1000 clients
FAILOVERS="${FAILOVERS:-3}"             # leader kills per cluster
WARMUP_PUTS="${WARMUP_PUTS:-250000}"    # warm-up puts per cluster (and a third as many ranges)
JIT_SETTLED="${JIT_SETTLED:-15}"        # then more warm-up steps until etch's JIT takes < this % ...
JIT_STEPS="${JIT_STEPS:-8}"             # ... or this many steps (50,000 puts + 16,666 ranges each)
CLIENT_WARMUP="${CLIENT_WARMUP:-30000}" # unmeasured requests each measured run sends first (--warmup)
WRITERS="${WRITERS:-6}"                 # put loops during a failover (bench/FailoverProbe.java)
WRITE_TIMEOUT_MS="${WRITE_TIMEOUT_MS:-300}" # each of their puts' deadline
WRITE_PAUSE_MS=20                       # between one writer's puts
FAILOVER_LIMIT="${FAILOVER_LIMIT:-30}"  # seconds to wait for a write after the kill
START_LIMIT="${START_LIMIT:-120}"       # seconds for a cluster (or a restarted member) to be ready
HEARTBEAT_MS=100                        # the defaults of both, stated in the report
ELECTION_MS=1000

need_etcd
build_etch "$root"

work="$(mktemp -d "${TMPDIR:-/tmp}/etch-cluster.XXXXXX")"
mkdir -p "$work/json"
declare -a mpid=() cport=() pport=()
failures=()

cleanup() {
  local rc=$?
  stop_pid "${mpid[@]}"
  [[ -n "${writer_pids:-}" ]] && stop_pid $writer_pids
  rm -rf "$work"/*/m[123]
  if [[ $rc -eq 0 && -z "${KEEP_LOGS:-}" ]]; then
    rm -rf "$work"
  else
    log "logs kept in $work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- one cluster: $sys, members 1..3, data and logs in $cdir ----

start_member() { # I
  local i=$1 bin="$root/bin/etch"
  [[ $sys == etcd ]] && bin="$ETCD_BIN"
  "$bin" --name "m$i" --data-dir "$cdir/m$i" \
    --listen-client-urls "http://127.0.0.1:${cport[$i]}" \
    --advertise-client-urls "http://127.0.0.1:${cport[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${pport[$i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${pport[$i]}" \
    --initial-cluster "$initial" --initial-cluster-token "$token" \
    --initial-cluster-state new >>"$cdir/m$i.log" 2>&1 &
  mpid[$i]=$!
}

eps() { # I... -> the client URLs of those members, comma-separated
  local i out=""
  for i in "$@"; do out+="${out:+,}http://127.0.0.1:${cport[$i]}"; done
  echo "$out"
}

# status I... -> lines "I leader(true|false) term" for the members that answer.
status() {
  local line ep i
  "$ETCDCTL_BIN" --endpoints="$(eps "$@")" --dial-timeout=2s --command-timeout=3s \
    endpoint status -w simple 2>/dev/null |
    while IFS= read -r line; do
      ep="${line%%,*}"
      for i in 1 2 3; do
        if [[ "$ep" == "http://127.0.0.1:${cport[$i]}" ]]; then
          awk -F', ' -v i="$i" '{ print i, $5, $7 }' <<<"$line"
        fi
      done
    done || true
}

leader_of() { status "$@" | awk '$2 == "true" { print $1 }'; }
term_of() { status 1 2 3 | awk '{ if ($3 > t) t = $3 } END { print t + 0 }'; }

# Ready: every member alive, healthy (a quorum read/write through it) and agreeing on one leader.
wait_ready() { # WHAT
  local deadline=$((SECONDS + START_LIMIT)) i leaders
  while ((SECONDS < deadline)); do
    for i in 1 2 3; do
      if ! kill -0 "${mpid[$i]}" 2>/dev/null; then
        log "$sys m$i (pid ${mpid[$i]}) exited; last lines of its log:"
        tail -20 "$cdir/m$i.log" >&2
        die "$sys m$i did not start ($1)"
      fi
    done
    if "$ETCDCTL_BIN" --endpoints="$(eps 1 2 3)" --dial-timeout=2s --command-timeout=3s \
      endpoint health >/dev/null 2>&1; then
      leaders="$(status 1 2 3 | awk '$2 == "true"' | wc -l)"
      [[ "$leaders" == 1 && "$(status 1 2 3 | wc -l)" == 3 ]] && return 0
    fi
    sleep 0.3
  done
  for i in 1 2 3; do
    log "last lines of $sys m$i's log:"
    tail -10 "$cdir/m$i.log" >&2
  done
  die "$sys cluster not ready within $START_LIMIT s ($1)"
}

start_cluster() { # ROUND
  cdir="$work/$sys-r$1"
  mkdir -p "$cdir"
  token="bench-$sys-r$1"
  initial=""
  local i t0
  for i in 1 2 3; do
    cport[$i]=$(free_port)
    pport[$i]=$(free_port)
    initial+="${initial:+,}m$i=http://127.0.0.1:${pport[$i]}"
  done
  log "round $1: starting a 3-member $sys cluster (clients on $(eps 1 2 3))"
  t0=$SECONDS
  for i in 1 2 3; do start_member "$i"; done
  for i in 1 2 3; do wait_port "$sys m$i" "${cport[$i]}" "${mpid[$i]}" "$cdir/m$i.log" "$START_LIMIT"; done
  wait_ready "start"
  echo "$((SECONDS - t0))" >"$work/json/$sys.r$1.ready"
  log "  ready after $((SECONDS - t0)) s; leader m$(leader_of 1 2 3)"
}

stop_cluster() {
  stop_pid "${mpid[@]}"
  mpid=()
  rm -rf "$cdir"/m[123]
}

# ---- workloads ----

# bench NAME ROUND ARGS...: one etchctl bench run against all three members; its JSON line kept as
# json/SYS.rROUND.NAME.json, with the 1-minute load average and raft terms before and after.
bench() {
  local name=$1 round=$2 rc=0 f t1 t2 c1 c2 j1 j2
  shift 2
  f="$work/json/$sys.r$round.$name"
  log "  $name: etchctl bench $*"
  t1=$(term_of)
  cut -d' ' -f1 /proc/loadavg >"$f.load"
  c1=$(cpu_ticks "${mpid[@]}")
  j1=$(jit_ticks "${mpid[@]}")
  "$etchctl" bench "$@" --endpoints="$(eps 1 2 3)" -w json >"$f.json" 2>"$f.err" || rc=$?
  c2=$(cpu_ticks "${mpid[@]}")
  j2=$(jit_ticks "${mpid[@]}")
  # The JIT compilers' share of that CPU, in percent: near 0 once a JVM member is warm.
  percent $((j2 - j1)) $((c2 - c1)) >"$f.jit"
  # The three members' CPU time per request, in microseconds: how much of the 2 cores a request
  # costs, a figure the machine's noise moves far less than throughput.
  jq -r --argjson d "$((c2 - c1))" --argjson hz "$(getconf CLK_TCK)" \
    'if (.ok // 0) > 0 then ($d * 1000000 / $hz / (.ok + (.warmup // 0)) | floor) else empty end' "$f.json" >"$f.cpu" 2>/dev/null || true
  cat "$f.err" >>"$work/etchctl.log"
  t2=$(term_of)
  echo "$t1 $t2" >"$f.term"
  if [[ ! -s "$f.json" ]]; then
    # No report: etchctl gave up before measuring; its own message says why.
    jq -cn --arg e "$(grep -m1 -E 'Exception|rror' "$f.err" | sed 's/^[^:]*Exception: //' | cut -c1-120)" \
      '{ok: 0, failed: null, errors: {(if $e == "" then "no report" else $e end): 1}}' >"$f.json"
  fi
  if [[ $rc -ne 0 ]]; then
    log "  FAILED: $name on $sys round $round: exit $rc: $(jq -c .errors "$f.json")"
    failures+=("$name on $sys round $round: etchctl bench exit $rc, errors $(jq -c .errors "$f.json")")
  fi
  [[ "$t1" == "$t2" ]] || log "  note: raft term changed during $name ($t1 -> $t2)"
}

# failover ROUND REP: kill the leader under a light write load through the others; the time from
# the kill to the end of the first successful put started after it. The member is restarted.
failover() {
  local round=$1 rep=$2 l s1 s2 w t0 first now deadline file targets=()
  wait_ready "before failover $rep"
  l=$(leader_of 1 2 3)
  [[ -n "$l" ]] || die "$sys: no leader before failover $rep"
  s1=$(((l % 3) + 1))
  s2=$(((s1 % 3) + 1))
  stop="$work/stop.$sys.$round.$rep"
  file="$work/writes.$sys.$round.$rep"
  for w in $(seq 1 "$WRITERS"); do
    if ((w % 2)); then targets+=("$(eps "$s1")"); else targets+=("$(eps "$s2")"); fi
  done
  : >"$file" # exists before the poll below reads it (the background job opens it a moment later)
  # One JVM, one connection per writer, started before the clock (compiling it takes seconds).
  java -cp "$root/etch-cli/target/etch-cli.jar:$root/etch-cli/target/lib/*" \
    "$root/bench/FailoverProbe.java" "$stop" "$WRITE_TIMEOUT_MS" "$WRITE_PAUSE_MS" "${targets[@]}" \
    >"$file" 2>"$file.err" &
  writer_pids=$!
  # Steady state first: every writer has had a put succeed through its follower.
  deadline=$((SECONDS + 60))
  until [[ "$(awk '$3 == 0 { print $4 }' "$file" | sort -u | wc -l)" -ge "$WRITERS" ]]; do
    kill -0 "$writer_pids" 2>/dev/null || { cat "$file.err" >&2; die "$sys: FailoverProbe exited"; }
    ((SECONDS < deadline)) || die "$sys: puts through the followers fail before the kill (see $file)"
    sleep 0.2
  done
  sleep 1
  t0=${EPOCHREALTIME/[.,]/}
  kill -KILL "${mpid[$l]}"
  wait "${mpid[$l]}" 2>/dev/null || true
  first=""
  deadline=$((SECONDS + FAILOVER_LIMIT))
  while [[ -z "$first" ]] && ((SECONDS < deadline)); do
    sleep 0.05
    first=$(awk -v t0="$t0" '$3 == 0 && $1 >= t0 && (m == "" || $2 < m) { m = $2 } END { print m }' "$file")
  done
  touch "$stop" # each writer ends after its current put (at most WRITE_TIMEOUT_MS)
  wait "$writer_pids" || true
  writer_pids=""
  local failed new load
  load=$(cut -d' ' -f1 /proc/loadavg)
  failed=$(awk -v t0="$t0" -v f="${first:-99999999999999999}" '$1 >= t0 && $2 <= f && $3 != 0' "$file" | wc -l)
  new=$(leader_of "$s1" "$s2")
  if [[ -z "$first" ]]; then
    log "  FAILED: $sys round $round failover $rep: no put succeeded within $FAILOVER_LIMIT s of killing m$l"
    failures+=("$sys round $round failover $rep: no write within $FAILOVER_LIMIT s after killing leader m$l")
    echo "$round $rep m$l - $failed ${new:+m$new} $load" >>"$work/json/$sys.failover"
  else
    now=$(((first - t0) / 1000))
    log "  failover $rep: killed leader m$l; first write after $now ms ($failed failed attempts); new leader m${new:-?}"
    echo "$round $rep m$l $now $failed m${new:-?} $load" >>"$work/json/$sys.failover"
  fi
  start_member "$l"
  wait_port "$sys m$l" "${cport[$l]}" "${mpid[$l]}" "$cdir/m$l.log" "$START_LIMIT"
  wait_ready "restart of m$l"
}

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS
for round in $(seq 1 "$ROUNDS"); do
  for sys in etch etcd; do
    start_cluster "$round"
    # Warm-up, not reported, at the measured shape, so that the measured runs time the members'
    # steady state rather than etch's JIT compiling. Three JVMs on 2 cores are slow to get there:
    # on a quiet machine (2026-12-03) the compilers still took 50-63% of the members' CPU in the
    # 50,000 puts after 250,000 and 7-18% only after 400,000, and CPU per put fell from ~430 to
    # ~125 us meanwhile. So after the base warm-up etch gets steps of 50,000 puts and 16,666
    # ranges until its compilers take less than JIT_SETTLED % of its CPU in a step (at most
    # JIT_STEPS); etcd, which has no JIT, then gets the same number of steps, so both stores hold
    # the same history. The report gives the steps taken and each measured run's JIT share.
    bench warmup "$round" put --conns=100 --clients=1000 --total="$WARMUP_PUTS" \
      --key-space-size=100000 --sequential-keys --val-size=256
    bench warmup-range "$round" range --consistency=l --conns=100 --clients=1000 \
      --total="$((WARMUP_PUTS / 3))" --key-space-size=100 --val-size=256
    if [[ $sys == etch ]]; then steps=0 limit=$JIT_STEPS; else limit=$steps; fi
    for step in $(seq 1 "$limit"); do
      c0=$(cpu_ticks "${mpid[@]}")
      j0=$(jit_ticks "${mpid[@]}")
      bench "warmup-step$step" "$round" put --conns=100 --clients=1000 --total=50000 \
        --key-space-size=100000 --sequential-keys --val-size=256
      bench "warmup-step$step-range" "$round" range --consistency=l --conns=100 --clients=1000 \
        --total=16666 --key-space-size=100 --val-size=256
      if [[ $sys == etch ]]; then
        steps=$step
        share=$(percent $(($(jit_ticks "${mpid[@]}") - j0)) $(($(cpu_ticks "${mpid[@]}") - c0)))
        log "  warm-up step $step: etch's JIT took $share% of its CPU"
        if ((share < JIT_SETTLED)); then break; fi
      fi
    done
    echo "$steps" >"$work/json/$sys.r$round.steps"
    # --warmup: unmeasured requests first, to warm the bench client's JIT (bench/README.md)
    bench put "$round" put --conns=100 --clients=1000 --total="$PUT_TOTAL" --warmup="$CLIENT_WARMUP" \
      --key-space-size=100000 --sequential-keys --val-size=256
    bench range-l "$round" range --consistency=l --conns=100 --clients=1000 \
      --total="$RANGE_TOTAL" --warmup="$CLIENT_WARMUP" --key-space-size=1000 --val-size=256
    for rep in $(seq 1 "$FAILOVERS"); do failover "$round" "$rep"; done
    stop_cluster
  done
done
elapsed=$((SECONDS - started))
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the table ----
get() { json_get "$work/json/$1.json" "$2"; } # SYS.rN.NAME EXPR
mean() { awk '{ if ($1 != "") { s += $1; n++ } } END { if (n) printf "%.0f", s / n }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)) }'; }

row() { # NAME ROUND LABEL: one round's figures
  local a="etcd.r$2.$1" b="etch.r$2.$1" fa fb
  fa=$(json_fails "$work/json/$a.json" | sed 's/^/ etcd/')
  fb=$(json_fails "$work/json/$b.json" | sed 's/^/ etch/')
  echo "| $3$fa$fb | $(get "$a" .rps) | $(get "$b" .rps) | $(ratio "$(get "$b" .rps)" "$(get "$a" .rps)") | $(ms "$(get "$a" .p50_us)") | $(ms "$(get "$b" .p50_us)") | $(ms "$(get "$a" .p99_us)") | $(ms "$(get "$b" .p99_us)") | $(ratio "$(get "$b" .p99_us)" "$(get "$a" .p99_us)") | $(cat "$work/json/$a.load") / $(cat "$work/json/$b.load") | $(cat "$work/json/$a.term" | tr ' ' '>') / $(cat "$work/json/$b.term" | tr ' ' '>') | $(cat "$work/json/$a.cpu" 2>/dev/null) / $(cat "$work/json/$b.cpu" 2>/dev/null) | $(cat "$work/json/$b.jit" 2>/dev/null)% |"
}
mean_row() { # NAME: the mean over the rounds in which both succeeded
  local s e r ok=()
  declare -A v
  for r in $(seq 1 "$ROUNDS"); do
    [[ -n "$(get "etcd.r$r.$1" .rps)" && -n "$(get "etch.r$r.$1" .rps)" ]] && ok+=("$r")
  done
  for s in etcd etch; do
    for e in .rps .p50_us .p99_us; do
      v[$s$e]=$(for r in "${ok[@]}"; do get "$s.r$r.$1" "$e"; echo; done | mean)
    done
  done
  echo "| **$2, mean of ${#ok[@]} round(s) where both ran** | ${v[etcd.rps]} | ${v[etch.rps]} | **$(ratio "${v[etch.rps]}" "${v[etcd.rps]}")** | $(ms "${v[etcd.p50_us]}") | $(ms "${v[etch.p50_us]}") | $(ms "${v[etcd.p99_us]}") | $(ms "${v[etch.p99_us]}") | **$(ratio "${v[etch.p99_us]}" "${v[etcd.p99_us]}")** | | | | |"
}
fo() { # SYS COLUMN -> that column of every failover, one a line
  awk -v c="$2" '{ print $c }' "$work/json/$1.failover" 2>/dev/null || true
}

etch_commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
mkdir -p "$root/bench/results"
out="$root/bench/results/$(date +%Y-%m-%d-%H%M)-cluster.md"
{
  echo "# 3-member clusters: etch vs etcd $(etcd_version) — $(date '+%Y-%m-%d %H:%M %Z')"
  echo
  echo "Three members each, all on 127.0.0.1, one cluster at a time, $(machine "$work");"
  echo "etch $etch_commit on $(java -version 2>&1 | awk 'NR == 1'); default flags for both (heartbeat $HEARTBEAT_MS ms, election timeout $ELECTION_MS ms)."
  echo "Order: etch, etcd, repeated for $ROUNDS rounds, a fresh cluster each time; $elapsed s in all."
  echo "Each cluster first got $WARMUP_PUTS puts and $((WARMUP_PUTS / 3)) linearizable ranges at 100 conns / 1000 clients, not measured (JIT warm-up; etcd alike),"
  echo "then steps of 50,000 puts and 16,666 ranges until etch's JIT compilers took less than $JIT_SETTLED% of its CPU in a step (at most $JIT_STEPS); etcd got as many steps as etch in the same round."
  echo "Warm-up steps per round: $(cat "$work"/json/etch.r*.steps 2>/dev/null | paste -sd' ' | sed 's/ /, /g')."
  echo "Warm-up put throughput (the base $WARMUP_PUTS), etcd / etch per round: $(for r in $(seq 1 "$ROUNDS"); do echo "$(get "etcd.r$r.warmup" .rps) / $(get "etch.r$r.warmup" .rps)"; done | paste -sd';' | sed 's/;/; /g') req/s."
  echo "Load average (1/5/15 min) at start: $load_start; at end: $load_end."
  echo
  echo "## Throughput and latency"
  echo
  echo "etchctl bench (one JVM per run, on the same cores), 100 connections round-robin over the three members, 1000 clients;"
  echo "each run first sent $CLIENT_WARMUP requests of its shape, not measured, to warm the bench client's JIT (the CPU and JIT columns cover them too: CPU is per request of both parts);"
  echo "keys 8 bytes, values 256 bytes; range: one key of 1000 per request, linearizable. Latencies in ms."
  echo "Ratio = etch / etcd (throughput: higher is better; p99: lower is better). Load = 1-minute load average as each run started."
  echo "Term = raft term before > after the run (a change means the leader changed under load)."
  echo "CPU = user+system time of the three members during the run, per successful request (the bench client's own CPU excluded)."
  echo "etch JIT = the share of the etch members' CPU in that run spent in the JIT compiler threads (C1/C2): near 0 in a warm member."
  echo
  echo "| workload | etcd req/s | etch req/s | ratio | etcd p50 | etch p50 | etcd p99 | etch p99 | ratio p99 | load etcd / etch | term etcd / etch | CPU µs/req etcd / etch | etch JIT |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for r in $(seq 1 "$ROUNDS"); do row put "$r" "put, round $r, $PUT_TOTAL"; done
  mean_row put put
  for r in $(seq 1 "$ROUNDS"); do row range-l "$r" "range linearizable, round $r, $RANGE_TOTAL"; done
  mean_row range-l "range linearizable"
  echo
  echo "## Leader failover"
  echo
  echo "$WRITERS put loops (bench/FailoverProbe.java: one gRPC connection each, a $WRITE_TIMEOUT_MS ms deadline per put, $WRITE_PAUSE_MS ms apart), half through each follower;"
  echo "SIGKILL of the leader; failover = from the kill to the end of the first successful put started after it."
  echo "A follower campaigns after a randomized $ELECTION_MS–$((2 * ELECTION_MS - 1)) ms without a heartbeat (raft's election timeout), so"
  echo "about $ELECTION_MS–$((2 * ELECTION_MS)) ms plus an election round is expected. The killed member is restarted and the cluster"
  echo "is healthy again before the next kill. Start = seconds from launching the three members to all healthy with one leader."
  echo
  local_med_etcd=$(fo etcd 4 | grep -v '^-$' | median)
  local_med_etch=$(fo etch 4 | grep -v '^-$' | median)
  echo "| | etcd | etch | ratio |"
  echo "|---|---:|---:|---:|"
  echo "| failover, median (ms) | ${local_med_etcd:-n/a} | ${local_med_etch:-n/a} | **$(ratio "$local_med_etch" "$local_med_etcd")** |"
  echo "| failover, each (ms) | $(fo etcd 4 | paste -sd' ' | sed 's/ /, /g') | $(fo etch 4 | paste -sd' ' | sed 's/ /, /g') | |"
  echo "| failover, max (ms) | $(fo etcd 4 | grep -v '^-$' | sort -n | tail -1) | $(fo etch 4 | grep -v '^-$' | sort -n | tail -1) | |"
  echo "| puts failed or timed out during failover (all kills) | $(fo etcd 5 | awk '{ s += $1 } END { print s + 0 }') | $(fo etch 5 | awk '{ s += $1 } END { print s + 0 }') | |"
  echo "| cluster start to ready, each round (s) | $(cat "$work"/json/etcd.r*.ready | paste -sd' ' | sed 's/ /, /g') | $(cat "$work"/json/etch.r*.ready | paste -sd' ' | sed 's/ /, /g') | |"
  echo
  echo "| system | round | kill | killed leader | failover (ms) | failed puts | new leader | load |"
  echo "|---|---:|---:|---|---:|---:|---|---:|"
  for s in etcd etch; do
    awk -v s="$s" '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", s, $1, $2, $3, $4, $5, $6, $7 }' \
      "$work/json/$s.failover" 2>/dev/null || true
  done
  if ((${#failures[@]})); then
    echo
    echo "**Failures:**"
    for f in "${failures[@]}"; do echo "- $f"; done
  fi
} >"$out"

cat "$out"
log "written to $out"
if ((${#failures[@]})); then
  for f in "${failures[@]}"; do log "FAILED: $f"; done
  die "${#failures[@]} run(s) failed; see the table"
fi
