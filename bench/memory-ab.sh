#!/usr/bin/env bash
# Issue 5's memory target next to its put targets, for up to two etch JVM option sets and etcd in
# one run: etcd, etch (ETCH_JAVA_OPTS, else bin/etch's defaults) and, with ETCH_B_JAVA_OPTS set,
# a second etch "etch-b". All run at once; every step goes to each server in turn, so the
# machine's noise falls on all of them.
#
#   1. rss.sh's load, step by step: warm-ups, 100,000 sequential puts of 256 B at 100 conns /
#      1000 clients (compare.sh's put-1000), 2,000 puts at 1 client (its put-1); then VmRSS.
#   2. ROUNDS (3) rounds of: put at 100/1000, CHECK_TOTAL (30,000) over the same 100,000 keys,
#      then 1,000 puts at 1 client; RSS again after the last round.
#
# Prints one line per server and run (req/s, p99, single-client average) and the ratios to etcd.
# Usage: ETCH_B_JAVA_OPTS="-XX:+UseSerialGC -Xmn32m" bench/memory-ab.sh
#        ETCH_JAVA_OPTS="..." ETCH_B_JAVA_OPTS=- bench/memory-ab.sh   (etch-b: bin/etch's defaults)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
etchctl="$root/bin/etchctl"
BENCH_NAME=memory-ab
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
RSS_KEYS="${RSS_KEYS:-100000}"
ROUNDS="${ROUNDS:-3}"
CHECK_TOTAL="${CHECK_TOTAL:-30000}"

need_etcd
build_etch "$root"
work="$(mktemp -d "${TMPDIR:-/tmp}/etch-memory-ab.XXXXXX")"
servers=(etcd etch)
[[ -n "${ETCH_B_JAVA_OPTS:-}" ]] && servers+=(etch-b)
declare -A pid=() port=()
cleanup() {
  stop_pid "${pid[@]}"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for s in "${servers[@]}"; do
  client=$(free_port); peer=$(free_port)
  port[$s]=$client
  flags=(--name bench --data-dir "$work/$s"
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client"
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer"
    --initial-cluster "bench=http://127.0.0.1:$peer")
  case $s in
    etcd) "$ETCD_BIN" "${flags[@]}" >"$work/$s.log" 2>&1 & ;;
    etch) "$root/bin/etch" "${flags[@]}" >"$work/$s.log" 2>&1 & ;;
    etch-b)
      if [[ "$ETCH_B_JAVA_OPTS" == - ]]; then
        env -u ETCH_JAVA_OPTS "$root/bin/etch" "${flags[@]}" >"$work/$s.log" 2>&1 &
      else
        ETCH_JAVA_OPTS="$ETCH_B_JAVA_OPTS" "$root/bin/etch" "${flags[@]}" >"$work/$s.log" 2>&1 &
      fi
      ;;
  esac
  pid[$s]=$!
  wait_port "$s" "$client" "${pid[$s]}" "$work/$s.log" 120
done
log "etch: ${ETCH_JAVA_OPTS:-bin/etch defaults}"
[[ -n "${ETCH_B_JAVA_OPTS:-}" ]] && log "etch-b: ${ETCH_B_JAVA_OPTS/#-/bin/etch defaults}"

each() { # NAME ARGS...: the same bench run against every server in turn
  local name=$1 s
  shift
  for s in "${servers[@]}"; do
    "$etchctl" bench "$@" --endpoints="http://127.0.0.1:${port[$s]}" -w json \
      >"$work/$name.$s.json" 2>>"$work/etchctl.log" || log "$s: $name exited $?"
  done
}
rss_mib() { echo $(($(rss_kib "${pid[$1]}") / 1024)); }
report() { # MULTI SINGLE: one line per server, ratios to etcd
  local s r p a
  for s in "${servers[@]}"; do
    r=$(jq -r .rps "$work/$1.$s.json"); p=$(jq -r .p99_us "$work/$1.$s.json")
    a=$(jq -r .avg_us "$work/$1.$s.json" 2>/dev/null || echo null)
    [[ -f "$work/$2.$s.json" ]] && a=$(jq -r .avg_us "$work/$2.$s.json")
    printf '%-7s %-8s put 100/1000 %8s req/s (x%s)  p99 %7s ms (x%s)  1 client avg %5s ms (x%s)%s\n' \
      "$s" "$1" "$r" "$(ratio "$r" "$(jq -r .rps "$work/$1.etcd.json")")" \
      "$(ms "$p")" "$(ratio "$p" "$(jq -r .p99_us "$work/$1.etcd.json")")" \
      "$(ms "$a")" "$(ratio "$a" "$(jq -r .avg_us "$work/$2.etcd.json")")" \
      "$(json_fails "$work/$1.$s.json")"
  done
}

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
each warm-put put --conns=10 --clients=100 --total=3000 --val-size=256
each warm-range range --consistency=l --conns=10 --clients=100 --total=3000 --key-size=7 \
  --key-space-size=100 --val-size=256
each warm-txn txn-put --conns=10 --clients=100 --total=1000 --val-size=256
each load put --conns=100 --clients=1000 --total="$RSS_KEYS" --key-space-size="$RSS_KEYS" \
  --sequential-keys --val-size=256
each load-1 put --conns=1 --clients=1 --total=2000 --key-space-size="$RSS_KEYS" \
  --sequential-keys --val-size=256
declare -A rss=()
for s in "${servers[@]}"; do rss[$s]=$(rss_mib "$s"); done
load_rss="$(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${servers[@]}"; do echo "$s RSS after $RSS_KEYS keys: ${rss[$s]} MiB (x$(ratio "${rss[$s]}" "${rss[etcd]}"))"; done
report load load-1
for r in $(seq 1 "$ROUNDS"); do
  each "round$r" put --conns=100 --clients=1000 --total="$CHECK_TOTAL" \
    --key-space-size="$RSS_KEYS" --val-size=256
  each "round$r-1" put --conns=1 --clients=1 --total=1000 --key-space-size="$RSS_KEYS" \
    --val-size=256
  report "round$r" "round$r-1"
done
for s in "${servers[@]}"; do
  echo "$s RSS after the rounds: $(rss_mib "$s") MiB"
done
echo "load average at start: $load_start; at the RSS reading: $load_rss; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
