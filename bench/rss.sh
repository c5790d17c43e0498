#!/usr/bin/env bash
# Issue 5's memory figure alone: RSS of etcd and etch after the same load compare.sh applies
# before it reads RSS (warm-ups, 100,000 sequential puts of 256 B at 100 conns / 1000 clients,
# 2,000 at 1 client), without the rest of compare.sh's workloads. Faster to iterate on.
#
# Usage: bench/rss.sh                 RSS of both, and the ratio
#        ETCH_JAVA_OPTS=... bench/rss.sh   try other JVM options (as bin/etch takes them)
#        DIAG=1 bench/rss.sh          also etch's breakdown: /proc smaps_rollup, the JVM's native
#                                     memory summary (adds -XX:NativeMemoryTracking=summary, which
#                                     itself costs a few MiB) and the heap, into $OUT_DIR
#        ONLY=etch bench/rss.sh       one server only (no ratio)
#        RSS_IDLE=20 bench/rss.sh     also RSS after both servers sat idle that many seconds (as
#                                     compare.sh does); DIAG then describes the idle member
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
etchctl="$root/bin/etchctl"
RSS_KEYS="${RSS_KEYS:-100000}"
ONLY="${ONLY:-}"
OUT_DIR="${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/etch-rss-out.XXXXXX")}"
mkdir -p "$OUT_DIR"
BENCH_NAME=rss
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

servers=(etcd etch)
[[ -n "$ONLY" ]] && servers=("$ONLY")

"$root/bin/etch" --version >/dev/null
"$etchctl" --version >/dev/null

work="$(mktemp -d "${TMPDIR:-/tmp}/etch-rss.XXXXXX")"
declare -A pid=()
cleanup() {
  stop_pid "${pid[@]}"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -A port=()
for s in "${servers[@]}"; do
  client=$(free_port); peer=$(free_port)
  port[$s]=$client
  flags=(--name bench --data-dir "$work/$s"
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client"
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer"
    --initial-cluster "bench=http://127.0.0.1:$peer")
  if [[ $s == etcd ]]; then
    "$ETCD_BIN" "${flags[@]}" >"$work/etcd.log" 2>&1 &
  else
    # bin/etch's JVM options (or ETCH_JAVA_OPTS), plus native memory tracking for DIAG.
    JAVA_TOOL_OPTIONS="${JAVA_TOOL_OPTIONS:-}${DIAG:+ -XX:NativeMemoryTracking=summary}" \
      "$root/bin/etch" "${flags[@]}" >"$work/etch.log" 2>&1 &
  fi
  pid[$s]=$!
  wait_port "$s" "$client" "${pid[$s]}" "$work/$s.log"
done

run() { # SERVER ARGS...
  local s=$1
  shift
  "$etchctl" bench "$@" --endpoints="http://127.0.0.1:${port[$s]}" -w json >>"$work/bench.$s.json" \
    2>>"$work/etchctl.log" || log "  $s: etchctl bench $1 exited $?"
}

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${servers[@]}"; do
  log "loading $s"
  run "$s" put --conns=10 --clients=100 --total=3000 --val-size=256
  run "$s" range --consistency=l --conns=10 --clients=100 --total=3000 --key-size=7 \
    --key-space-size=100 --val-size=256
  run "$s" txn-put --conns=10 --clients=100 --total=1000 --val-size=256
  run "$s" put --conns=100 --clients=1000 --total="$RSS_KEYS" \
    --key-space-size="$RSS_KEYS" --sequential-keys --val-size=256
  run "$s" put --conns=1 --clients=1 --total=2000 \
    --key-space-size="$RSS_KEYS" --sequential-keys --val-size=256
done
declare -A rss=()
for s in "${servers[@]}"; do rss[$s]=$(rss_kib "${pid[$s]}"); done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -A idle=()
if [[ -n "${RSS_IDLE:-}" ]]; then
  sleep "$RSS_IDLE"
  for s in "${servers[@]}"; do idle[$s]=$(rss_kib "${pid[$s]}"); done
fi

if [[ -n "${DIAG:-}" && -n "${pid[etch]:-}" ]]; then
  etch_diag "${pid[etch]}" "$OUT_DIR"
fi
[[ -n "${pid[etch]:-}" ]] && cp "$work/etch.log" "$OUT_DIR/etch.log"
for s in "${servers[@]}"; do
  log "$s: RSS $((rss[$s] / 1024)) MiB${RSS_IDLE:+, after ${RSS_IDLE} s idle $((${idle[$s]:-0} / 1024)) MiB} ($(jq -s "[.[] | select(.ok > 0)] | map(.failed) | add" \
    "$work/bench.$s.json") failed requests)"
done
# The load's own put figures: line 4 of each server's JSON is compare.sh's put-1000 workload
# (100,000 sequential keys at 100 conns / 1000 clients), line 5 its put-1 (2,000 at 1 client).
declare -A rps=() p99=() avg1=()
for s in "${servers[@]}"; do
  rps[$s]=$(sed -n 4p "$work/bench.$s.json" | jq -r .rps)
  p99[$s]=$(sed -n 4p "$work/bench.$s.json" | jq -r '.p99_us / 1000')
  avg1[$s]=$(sed -n 5p "$work/bench.$s.json" | jq -r '.avg_us / 1000')
  echo "$s put 100/1000, $RSS_KEYS: ${rps[$s]} req/s, p99 ${p99[$s]} ms; 1 client, 2000: avg ${avg1[$s]} ms"
done
if [[ -z "$ONLY" ]]; then
  awk -v a="${rss[etch]}" -v b="${rss[etcd]}" \
    'BEGIN { printf "RSS after keys: etcd %d MiB, etch %d MiB, ratio %.2f\n", b / 1024, a / 1024, a / b }'
  if [[ -n "${RSS_IDLE:-}" ]]; then
    awk -v a="${idle[etch]}" -v b="${idle[etcd]}" -v t="$RSS_IDLE" \
      'BEGIN { printf "RSS after %d s idle: etcd %d MiB, etch %d MiB, ratio %.2f\n", t, b / 1024, a / 1024, a / b }'
  fi
  awk -v a="${rps[etch]}" -v b="${rps[etcd]}" -v c="${p99[etch]}" -v d="${p99[etcd]}" \
    -v e="${avg1[etch]}" -v f="${avg1[etcd]}" \
    'BEGIN { printf "etch/etcd: put req/s %.2f, p99 %.2f, single-client avg latency %.2f\n", a / b, c / d, e / f }'
fi
# Put throughput on the loaded servers (PUT_CHECK=1): the brief's quick regression check.
if [[ -n "${PUT_CHECK:-}" ]]; then
  for s in "${servers[@]}"; do
    rm -f "$work/check.json"
    "$etchctl" bench put --conns=100 --clients=1000 --total=50000 --val-size=256 \
      --endpoints="http://127.0.0.1:${port[$s]}" -w json >"$work/check.json" 2>>"$work/etchctl.log" || true
    echo "$s put 100 conns / 1000 clients, 50000: $(jq -r '"\(.rps) req/s, p99 \(.p99_us / 1000) ms, \(.failed) failed"' "$work/check.json")"
  done
fi
echo "load average at start: $load_start; at end: $load_end"
