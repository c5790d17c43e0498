#!/usr/bin/env bash
# Snapshot save / restore throughput and defragment under a put load: etch vs the installed etcd
# 3.4, one member each on 127.0.0.1, the same keys loaded into both, same run. Prints a table with
# etch/etcd ratios and writes it to bench/results/<date>-snapshot.md.
#
#   save MiB/s    = snapshot file bytes / wall time of `etcdctl snapshot save` (both servers; etcd's
#                   file is bbolt, etch's its own format, so the sizes differ and both are shown)
#   restore MiB/s = file bytes / wall time of `etcdctl snapshot restore` (etcd) and
#                   `etchctl snapshot restore` (etch), same flags
#   defrag        = wall time of `etcdctl defrag` while `etchctl bench put` runs at DEFRAG_RATE/s;
#                   the p99 put latency reported is the bench's over the whole load window
#                   (DEFRAG_LOAD_S seconds, the defrag starting 2 s in)
#
# Usage: bench/snapshot.sh   (KEYS=1000000 by default; KEYS=200000 bench/snapshot.sh for a quicker run)
# Needs: /usr/bin/etcd and etcdctl (apt-get install -y etcd-server etcd-client), jq, a JDK.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
etchctl="$root/bin/etchctl"
BENCH_NAME=snapshot
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
KEYS="${KEYS:-1000000}"
VAL_SIZE="${VAL_SIZE:-256}"
TXN_OPS="${TXN_OPS:-100}"
DEFRAG_RATE="${DEFRAG_RATE:-2000}"
DEFRAG_LOAD_S="${DEFRAG_LOAD_S:-20}"
ETCDCTL_BIN="${ETCDCTL_BIN:-$(command -v etcdctl || echo /usr/bin/etcdctl)}"

need_etcd
build_etch "$root"

work="$(mktemp -d "${TMPDIR:-/tmp}/etch-snapshot.XXXXXX")"
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
"$ETCD_BIN" --name bench --data-dir "$work/etcd" --quota-backend-bytes=8589934592 \
  --listen-client-urls "http://127.0.0.1:$etcd_client" \
  --advertise-client-urls "http://127.0.0.1:$etcd_client" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "bench=http://127.0.0.1:$etcd_peer" >"$work/etcd.log" 2>&1 &
etcd_pid=$!
"$root/bin/etch" --name bench --data-dir "$work/etch" --quota-backend-bytes=8589934592 \
  --listen-client-urls "http://127.0.0.1:$etch_client" \
  --advertise-client-urls "http://127.0.0.1:$etch_client" \
  --listen-peer-urls "http://127.0.0.1:$etch_peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etch_peer" \
  --initial-cluster "bench=http://127.0.0.1:$etch_peer" >"$work/etch.log" 2>&1 &
etch_pid=$!
wait_port etcd "$etcd_client" "$etcd_pid" "$work/etcd.log"
wait_port etch "$etch_client" "$etch_pid" "$work/etch.log"
declare -A port=([etcd]=$etcd_client [etch]=$etch_client)

ctl() { ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="127.0.0.1:${port[$1]}" --command-timeout=600s "${@:2}"; }
now() { date +%s.%N; }
mibps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) print "n/a"; else printf "%.1f", b / 1048576 / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
# load_keys SERVER: every key once, TXN_OPS consecutive keys per txn (1M keys in minutes, not
# the ~10 minutes single puts take on this machine); KEYS must be a multiple of TXN_OPS.
load_keys() {
  "$etchctl" bench txn-put --txn-ops="$TXN_OPS" --conns=20 --clients=100 --total=$((KEYS / TXN_OPS)) \
    --key-space-size="$KEYS" --sequential-keys --val-size="$VAL_SIZE" \
    --endpoints="http://127.0.0.1:${port[$1]}" -w json 2>>"$work/etchctl.log"
}

declare -A size save restore defrag p99 p99base dbsize
for s in etcd etch; do
  log "loading $KEYS keys of $VAL_SIZE bytes into $s"
  load_keys "$s" >"$work/load.$s.json"
done
for s in etcd etch; do
  log "snapshot save on $s"
  t0=$(now)
  ctl $s snapshot save "$work/$s.snap" >>"$work/ctl.log" 2>&1
  t1=$(now)
  size[$s]=$(stat -c %s "$work/$s.snap")
  save[$s]=$(secs "$t0" "$t1")
done
log "snapshot restore"
t0=$(now)
ETCDCTL_API=3 "$ETCDCTL_BIN" snapshot restore "$work/etcd.snap" --name r --data-dir "$work/etcd-restored" \
  --initial-cluster r=http://127.0.0.1:1 --initial-advertise-peer-urls http://127.0.0.1:1 >>"$work/ctl.log" 2>&1
t1=$(now)
restore[etcd]=$(secs "$t0" "$t1")
t0=$(now)
"$etchctl" snapshot restore "$work/etch.snap" --name r --data-dir "$work/etch-restored" \
  --initial-cluster r=http://127.0.0.1:1 --initial-advertise-peer-urls http://127.0.0.1:1 >>"$work/ctl.log" 2>&1
t1=$(now)
restore[etch]=$(secs "$t0" "$t1")
rm -rf "$work/etcd-restored" "$work/etch-restored" "$work"/*.snap

for s in etcd etch; do
  # Give defrag something to reclaim: overwrite every key once more, compact to the head.
  log "overwrite + compact on $s"
  load_keys "$s" >/dev/null
  rev=$(ctl $s endpoint status -w json | jq '.[0].Status.header.revision')
  ctl $s compact "$rev" --physical >>"$work/ctl.log" 2>&1
  # The same rate without a defrag, as the baseline the defrag window's p99 is read against.
  log "put at $DEFRAG_RATE/s on $s without a defrag"
  "$etchctl" bench put --conns=10 --clients=100 --rate="$DEFRAG_RATE" \
    --total=$((DEFRAG_RATE * DEFRAG_LOAD_S / 2)) --key-space-size="$KEYS" --val-size="$VAL_SIZE" \
    --endpoints="http://127.0.0.1:${port[$s]}" -w json >"$work/nodefrag-load.$s.json" 2>>"$work/etchctl.log" || true
  p99base[$s]=$(json_get "$work/nodefrag-load.$s.json" .p99_us)
  log "defrag on $s under $DEFRAG_RATE puts/s"
  "$etchctl" bench put --conns=10 --clients=100 --rate="$DEFRAG_RATE" \
    --total=$((DEFRAG_RATE * DEFRAG_LOAD_S)) --key-space-size="$KEYS" --val-size="$VAL_SIZE" \
    --endpoints="http://127.0.0.1:${port[$s]}" -w json >"$work/defrag-load.$s.json" 2>>"$work/etchctl.log" &
  load=$!
  sleep 2
  t0=$(now)
  ctl $s defrag >>"$work/ctl.log" 2>&1
  t1=$(now)
  defrag[$s]=$(secs "$t0" "$t1")
  wait $load || true
  p99[$s]=$(json_get "$work/defrag-load.$s.json" .p99_us)
  dbsize[$s]=$(ctl $s endpoint status -w json | jq '.[0].Status.dbSize')
done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

etch_commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
mkdir -p "$root/bench/results"
out="$root/bench/results/$(date +%Y-%m-%d-%H%M)-snapshot.md"
{
  echo "# snapshot and defrag: etch vs etcd $(etcd_version) — $(date '+%Y-%m-%d %H:%M %Z')"
  echo
  echo "One member each, $KEYS keys of $VAL_SIZE bytes, $(machine "$work"); etch $etch_commit."
  echo "Load average at start: $load_start; at end: $load_end. Ratio = etch / etcd."
  echo
  echo "| measure | etcd | etch | ratio |"
  echo "|---|---:|---:|---:|"
  echo "| snapshot file (MiB) | $(mibps "${size[etcd]}" 1) | $(mibps "${size[etch]}" 1) | $(ratio "${size[etch]}" "${size[etcd]}") |"
  echo "| save (s) | ${save[etcd]} | ${save[etch]} | $(ratio "${save[etch]}" "${save[etcd]}") |"
  se=$(mibps "${size[etcd]}" "${save[etcd]}"); sh=$(mibps "${size[etch]}" "${save[etch]}")
  echo "| save (MiB/s of file) | $se | $sh | $(ratio "$sh" "$se") |"
  echo "| restore (s) | ${restore[etcd]} | ${restore[etch]} | $(ratio "${restore[etch]}" "${restore[etcd]}") |"
  re=$(mibps "${size[etcd]}" "${restore[etcd]}"); rh=$(mibps "${size[etch]}" "${restore[etch]}")
  echo "| restore (MiB/s of file) | $re | $rh | $(ratio "$rh" "$re") |"
  echo "| defrag under $DEFRAG_RATE puts/s (s) | ${defrag[etcd]} | ${defrag[etch]} | $(ratio "${defrag[etch]}" "${defrag[etcd]}") |"
  echo "| put p99 during the defrag window (ms) | $(ms "${p99[etcd]}") | $(ms "${p99[etch]}") | $(ratio "${p99[etch]}" "${p99[etcd]}") |"
  echo "| put p99 at the same rate, no defrag (ms) | $(ms "${p99base[etcd]}") | $(ms "${p99base[etch]}") | $(ratio "${p99base[etch]}" "${p99base[etcd]}") |"
  echo "| db size after defrag (MiB) | $(mibps "${dbsize[etcd]}" 1) | $(mibps "${dbsize[etch]}" 1) | $(ratio "${dbsize[etch]}" "${dbsize[etcd]}") |"
} >"$out"
cat "$out"
log "written to $out"
