#!/usr/bin/env bash
# Side-by-side: etch vs the installed etcd (Debian's etcd-server), one member each, on this
# machine, data on the same disk, the same etchctl bench workloads against each, alternating
# etcd, etch, etcd, etch... so machine noise falls on both. Prints a table of figures and
# etch/etcd ratios and writes it to bench/results/<date>.md. Issue 5's targets are checked there.
#
# Usage: bench/compare.sh   (about 4 minutes on 2 quiet cores, 10 or more when the box is busy)
#        DIAG=DIR JAVA_TOOL_OPTIONS=-XX:NativeMemoryTracking=summary bench/compare.sh: stop after
#        the RSS figures, with etch's memory breakdown in DIR
# Sizes can be lowered for a quick look, e.g. PUT_TOTAL=20000 RANGE_TOTAL=20000 bench/compare.sh
# Needs: /usr/bin/etcd (apt-get install -y etcd-server), jq, and a JDK for bin/etch and bin/etchctl.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
etchctl="$root/bin/etchctl"
BENCH_NAME=compare
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
PUT_TOTAL="${PUT_TOTAL:-100000}"     # put at 100 conns / 1000 clients; also loads the RSS keys
SINGLE_TOTAL="${SINGLE_TOTAL:-2000}" # put, 1 conn / 1 client
RANGE_TOTAL="${RANGE_TOTAL:-100000}" # range (l and s) at 100 conns / 1000 clients
TXN_TOTAL="${TXN_TOTAL:-30000}"      # txn-put at 100 conns / 1000 clients
WATCH_PUTS="${WATCH_PUTS:-300}"      # watch: 100 watchers on 10 streams, puts at 100/s
RSS_KEYS="${RSS_KEYS:-100000}"       # issue 5: RSS with 100,000 keys of 256 bytes
WARMUP_PUTS="${WARMUP_PUTS:-100000}" # warm-up before anything is measured (see below)
JIT_SETTLED="${JIT_SETTLED:-15}"     # then warm-up steps until etch's JIT takes < this % of its CPU
JIT_STEPS="${JIT_STEPS:-6}"          # ... or this many steps
CLIENT_WARMUP="${CLIENT_WARMUP:-30000}" # unmeasured requests each measured run sends first (--warmup)
RSS_IDLE="${RSS_IDLE:-70}"           # seconds both servers stay idle before RSS is read again
# (70: etch's idle collection runs 10 s after its last collection but at most once a minute, and
# etch sits idle while etcd runs put-1000, so its last one can be up to a minute old)

need_etcd
build_etch "$root"

work="$(mktemp -d "${TMPDIR:-/tmp}/etch-compare.XXXXXX")"
etcd_pid=""
etch_pid=""
cleanup() {
  stop_pid $etcd_pid $etch_pid
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

etcd_client=$(free_port); etcd_peer=$(free_port)
etch_client=$(free_port); etch_peer=$(free_port)

log "starting etcd $(etcd_version) on :$etcd_client (data $work/etcd)"
"$ETCD_BIN" --name bench --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_client" \
  --advertise-client-urls "http://127.0.0.1:$etcd_client" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "bench=http://127.0.0.1:$etcd_peer" >"$work/etcd.log" 2>&1 &
etcd_pid=$!

log "starting etch on :$etch_client (data $work/etch)"
"$root/bin/etch" --name bench --data-dir "$work/etch" \
  --listen-client-urls "http://127.0.0.1:$etch_client" \
  --advertise-client-urls "http://127.0.0.1:$etch_client" \
  --listen-peer-urls "http://127.0.0.1:$etch_peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etch_peer" \
  --initial-cluster "bench=http://127.0.0.1:$etch_peer" >"$work/etch.log" 2>&1 &
etch_pid=$!

wait_port etcd "$etcd_client" "$etcd_pid" "$work/etcd.log"
wait_port etch "$etch_client" "$etch_pid" "$work/etch.log"

declare -A port=([etcd]=$etcd_client [etch]=$etch_client)
declare -A pid=([etcd]=$etcd_pid [etch]=$etch_pid)

# run NAME SERVER ARGS...: one etchctl bench run, its JSON line kept as $work/NAME.SERVER.json.
run() {
  local name=$1 server=$2
  shift 2
  log "$name on $server: etchctl bench $*"
  local rc=0
  "$etchctl" bench "$@" --endpoints="http://127.0.0.1:${port[$server]}" -w json \
    >"$work/$name.$server.json" 2>>"$work/etchctl.log" || rc=$?
  if [[ ! -s "$work/$name.$server.json" ]]; then
    echo '{"ok":0,"failed":null,"errors":{"no report":1}}' >"$work/$name.$server.json"
  fi
  [[ $rc -eq 0 ]] || log "  ... exit $rc: $(jq -c .errors "$work/$name.$server.json")"
}

# both NAME ARGS...: the workload on etcd, then etch.
both() {
  local name=$1
  shift
  for s in etcd etch; do run "$name" "$s" "$@"; done
}

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS

# Warm-up, not reported, the same for both servers: each request kind at the measured shape
# (100 conns / 1000 clients), so the measured runs time a server in its steady state rather than
# etch's JIT compiling its code paths (measured: a JVM member still spends most of its CPU in the
# C2 compiler after 60,000 puts on 2 busy cores; etcd's Go code needs no warm-up and loses
# nothing by it). The warm-up writes a 1,000-key space and is then compacted away on both, so
# the RSS figure below still holds 100,000 keys with one revision each.
both warmup put --conns=100 --clients=1000 --total="$WARMUP_PUTS" --key-space-size=1000 \
  --val-size=256
both warmup-range range --consistency=l --conns=100 --clients=1000 \
  --total="$((WARMUP_PUTS / 3))" --key-size=7 --key-space-size=100 --val-size=256
both warmup-txn txn-put --conns=100 --clients=1000 --total="$((WARMUP_PUTS / 5))" \
  --key-space-size=1000 --val-size=256
# Then steps at the measured runs' shape (new keys over the 100,000-key space, and ranges) until
# etch's JIT compilers take less than JIT_SETTLED % of its CPU in a step: on a quiet machine
# (2026-12-03) they still took 56% of it in the first 100,000 puts after the warm-up above, 13% in
# the next, and etch's put rate went from 8,000 to 11,900/s between the two. etcd, which has no JIT,
# gets as many steps. Everything the steps wrote is deleted and compacted away before measuring.
steps=0
for step in $(seq 1 "$JIT_STEPS"); do
  c0=$(cpu_ticks "$etch_pid")
  j0=$(jit_ticks "$etch_pid")
  run warmup-step etch put --conns=100 --clients=1000 --total=50000 --key-space-size="$RSS_KEYS" \
    --sequential-keys --val-size=256
  run warmup-step-range etch range --consistency=l --conns=100 --clients=1000 --total=20000 \
    --key-space-size=1000 --val-size=256
  steps=$step
  share=$(percent $(($(jit_ticks "$etch_pid") - j0)) $(($(cpu_ticks "$etch_pid") - c0)))
  log "warm-up step $step: etch's JIT took $share% of its CPU"
  if ((share < JIT_SETTLED)); then break; fi
done
for step in $(seq 1 "$steps"); do
  run warmup-step etcd put --conns=100 --clients=1000 --total=50000 --key-space-size="$RSS_KEYS" \
    --sequential-keys --val-size=256
  run warmup-step-range etcd range --consistency=l --conns=100 --clients=1000 --total=20000 \
    --key-space-size=1000 --val-size=256
done
for s in etcd etch; do
  "$ETCDCTL_BIN" --endpoints="http://127.0.0.1:${port[$s]}" del "" --from-key >/dev/null ||
    die "warm-up delete on $s failed"
  rev=$("$ETCDCTL_BIN" --endpoints="http://127.0.0.1:${port[$s]}" endpoint status -w json |
    jq -r '.[0].Status.header.revision')
  "$ETCDCTL_BIN" --endpoints="http://127.0.0.1:${port[$s]}" compact "$rev" --physical >/dev/null ||
    die "warm-up compaction on $s failed"
  # and defragmented, so that neither store's file (etcd's bbolt file is mapped into its memory)
  # still holds the warm-up's pages when RSS is read below
  "$ETCDCTL_BIN" --endpoints="http://127.0.0.1:${port[$s]}" defrag >/dev/null ||
    die "warm-up defrag on $s failed"
done
# Every measured run first sends --warmup requests of its own shape, not measured: they warm the
# bench client's JIT (a fresh JVM per run; see bench/README.md, "The client's warm-up").
both put-1000 put --conns=100 --clients=1000 --total="$PUT_TOTAL" --warmup="$CLIENT_WARMUP" \
  --key-space-size="$RSS_KEYS" --sequential-keys --val-size=256
both put-1 put --conns=1 --clients=1 --total="$SINGLE_TOTAL" --warmup="$((SINGLE_TOTAL / 2))" \
  --key-space-size="$RSS_KEYS" --sequential-keys --val-size=256
# RSS with 100,000 keys of 256 bytes: top the key space up if put-1000 wrote fewer.
if ((PUT_TOTAL < RSS_KEYS)); then
  both load put --conns=100 --clients=1000 --total="$RSS_KEYS" \
    --key-space-size="$RSS_KEYS" --sequential-keys --val-size=256
fi
# Read twice: right after the load, and after both servers sat idle for RSS_IDLE seconds (what a
# member holding the keys keeps; both give memory back when idle: Go's scavenger, and etch's idle
# collection, IdleHeapReturn, that bin/etch turns on).
declare -A rss rss_idle
for s in etcd etch; do rss[$s]=$(rss_kib "${pid[$s]}"); done
log "RSS after $RSS_KEYS keys: etcd ${rss[etcd]} KiB, etch ${rss[etch]} KiB; now $RSS_IDLE s idle"
sleep "$RSS_IDLE"
for s in etcd etch; do rss_idle[$s]=$(rss_kib "${pid[$s]}"); done
log "RSS after $RSS_IDLE s idle: etcd ${rss_idle[etcd]} KiB, etch ${rss_idle[etch]} KiB"
# DIAG=DIR: etch's memory breakdown at this point into DIR (bench/lib.sh, etch_diag), then stop.
# Give etch -XX:NativeMemoryTracking=summary through JAVA_TOOL_OPTIONS for the NMT part.
if [[ -n "${DIAG:-}" ]]; then
  etch_diag "$etch_pid" "$DIAG"
  cp "$work/etch.log" "$DIAG/etch.log"
  exit 0
fi
both range-l range --consistency=l --conns=100 --clients=1000 --total="$RANGE_TOTAL" \
  --warmup="$CLIENT_WARMUP" \
  --key-space-size=1000 --val-size=256
both range-s range --consistency=s --conns=100 --clients=1000 --total="$RANGE_TOTAL" \
  --warmup="$CLIENT_WARMUP" \
  --key-space-size=1000 --val-size=256
both txn-put txn-put --conns=100 --clients=1000 --total="$TXN_TOTAL" \
  --warmup="$((CLIENT_WARMUP / 3))" \
  --key-space-size="$RSS_KEYS" --val-size=256
both watch watch --conns=10 --streams=10 --watchers-per-stream=10 --total="$WATCH_PUTS" \
  --put-rate=100 --val-size=256 --event-timeout=5

elapsed=$((SECONDS - started))
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the table ----
# ratio and ms come from lib.sh.
get() { json_get "$work/$1.json" "$2"; }  # NAME.SERVER EXPR
fails() { json_fails "$work/$1.$2.json"; } # NAME SERVER

etcd_version="$(etcd_version)"
java_version="$(java -version 2>&1 | awk 'NR == 1')"
etch_commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
date_tag="$(date +%Y-%m-%d-%H%M)"
mkdir -p "$root/bench/results"
out="$root/bench/results/$date_tag.md"
{
  echo "# etch vs etcd $etcd_version — $(date '+%Y-%m-%d %H:%M %Z')"
  echo
  echo "One member each on 127.0.0.1, default flags, $(machine "$work");"
  echo "etch $etch_commit on $java_version; client: etchctl bench (one JVM per run, on the same cores)."
  echo "Load average (1/5/15 min) at start: $load_start; at end: $load_end. Runs alternate etcd, etch per workload; $elapsed s in all."
  echo "Warm-up, not measured, the same for both: $WARMUP_PUTS puts, $((WARMUP_PUTS / 3)) linearizable ranges and $((WARMUP_PUTS / 5)) txn-puts at 100 conns / 1000 clients on a 1,000-key space,"
  echo "then $steps step(s) of 50,000 puts of new keys and 20,000 ranges (until etch's JIT compilers took less than $JIT_SETTLED% of its CPU in a step, at most $JIT_STEPS); then every key deleted and compacted."
  echo "Each measured run first sent, unmeasured, $CLIENT_WARMUP requests of its shape ($((SINGLE_TOTAL / 2)) for put-1, $((CLIENT_WARMUP / 3)) for txn-put; not the watch run) to warm the bench client's JIT;"
  echo "so put-1000's warm-up gave the first $CLIENT_WARMUP of the $RSS_KEYS keys a second revision before RSS was read (on both)."
  echo "Keys 8 bytes, values 256 bytes. Latencies in ms. Ratio = etch / etcd (throughput: higher is better; latency and RSS: lower is better)."
  echo
  echo "| workload | etcd req/s | etch req/s | ratio | etcd p50 | etch p50 | etcd p90 | etch p90 | etcd p99 | etch p99 | ratio p99 | etcd p99.9 | etch p99.9 |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  row() { # NAME LABEL
    local a=$1.etcd b=$1.etch
    echo "| $2$(fails "$1" etcd | sed 's/^/ etcd/')$(fails "$1" etch | sed 's/^/ etch/') | $(get "$a" .rps) | $(get "$b" .rps) | $(ratio "$(get "$b" .rps)" "$(get "$a" .rps)") | $(ms "$(get "$a" .p50_us)") | $(ms "$(get "$b" .p50_us)") | $(ms "$(get "$a" .p90_us)") | $(ms "$(get "$b" .p90_us)") | $(ms "$(get "$a" .p99_us)") | $(ms "$(get "$b" .p99_us)") | $(ratio "$(get "$b" .p99_us)" "$(get "$a" .p99_us)") | $(ms "$(get "$a" .p999_us)") | $(ms "$(get "$b" .p999_us)") |"
  }
  row put-1000 "put, 100 conns / 1000 clients, $PUT_TOTAL"
  row put-1 "put, 1 conn / 1 client, $SINGLE_TOTAL"
  row range-l "range linearizable, 100/1000, $RANGE_TOTAL"
  row range-s "range serializable, 100/1000, $RANGE_TOTAL"
  row txn-put "txn-put (1 put), 100/1000, $TXN_TOTAL"
  row watch "watch: event latency, 100 watchers, $WATCH_PUTS puts at 100/s"
  echo
  echo "| memory | etcd | etch | ratio |"
  echo "|---|---:|---:|---:|"
  echo "| RSS right after loading $RSS_KEYS keys of 256 bytes (MiB) | $((rss[etcd] / 1024)) | $((rss[etch] / 1024)) | $(ratio "${rss[etch]}" "${rss[etcd]}") |"
  echo "| RSS holding them, after $RSS_IDLE s idle (MiB) | $((rss_idle[etcd] / 1024)) | $((rss_idle[etch] / 1024)) | $(ratio "${rss_idle[etch]}" "${rss_idle[etcd]}") |"
  echo
  echo "Issue 5 targets:"
  target() { # TEXT RATIO OP LIMIT: met when RATIO OP LIMIT holds
    local met
    met=$(awk -v r="$2" -v op="$3" -v l="$4" 'BEGIN {
      if (r == "n/a") print 0; else if (op == ">=") print (r + 0 >= l + 0); else print (r + 0 <= l + 0) }')
    echo "- $1 (ratio $2): $([[ "$met" == 1 ]] && echo met || echo "**not met**")"
  }
  target "put throughput at 1000 clients at least etcd's" \
    "$(ratio "$(get put-1000.etch .rps)" "$(get put-1000.etcd .rps)")" ">=" 1
  target "put p99 at 1000 clients no worse than etcd's" \
    "$(ratio "$(get put-1000.etch .p99_us)" "$(get put-1000.etcd .p99_us)")" "<=" 1
  target "single-client put latency (average) within 1.2x etcd's" \
    "$(ratio "$(get put-1.etch .avg_us)" "$(get put-1.etcd .avg_us)")" "<=" 1.2
  target "RSS with $RSS_KEYS keys at most 2x etcd's, after $RSS_IDLE s idle" \
    "$(ratio "${rss_idle[etch]}" "${rss_idle[etcd]}")" "<=" 2
  target "the same, right after the load" "$(ratio "${rss[etch]}" "${rss[etcd]}")" "<=" 2
} >"$out"

cat "$out"
log "written to $out"
