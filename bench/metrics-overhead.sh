#!/usr/bin/env bash
# Put throughput of etch with its metrics vs a build without them, same run, same machine:
# one member each, started side by side, put runs alternating base, metrics, base, metrics... so
# machine noise falls on both. Prints each run and the ratio of medians (metrics / base).
#
# Usage: BASE_ROOT=/path/to/a/checkout/before/metrics bench/metrics-overhead.sh
#   (BASE_ROOT built with `./mvnw -B -q package -DskipTests -pl etch-server,etch-cli -am`)
# ROUNDS (default 5) runs per side of PUT_TOTAL (default 30000) puts, 100 conns / 1000 clients.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_NAME=metrics-overhead
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
: "${BASE_ROOT:?set BASE_ROOT to a built checkout without the metrics}"
ROUNDS="${ROUNDS:-5}"
PUT_TOTAL="${PUT_TOTAL:-30000}"
etchctl="$root/bin/etchctl"
command -v jq >/dev/null || die "jq is needed: apt-get install -y jq"
build_etch "$root"
build_etch "$BASE_ROOT"

work="$(mktemp -d "${TMPDIR:-/tmp}/etch-metrics-overhead.XXXXXX")"
declare -A port pid
cleanup() {
  stop_pid "${pid[base]:-}" "${pid[metrics]:-}"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # NAME ROOT
  local client peer
  client=$(free_port)
  peer=$(free_port)
  port[$1]=$client
  "$2/bin/etch" --name "$1" --data-dir "$work/$1" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "$1=http://127.0.0.1:$peer" >"$work/$1.log" 2>&1 &
  pid[$1]=$!
}
start base "$BASE_ROOT"
start metrics "$root"
wait_port base "${port[base]}" "${pid[base]}" "$work/base.log"
wait_port metrics "${port[metrics]}" "${pid[metrics]}" "$work/metrics.log"

run() { # SERVER TOTAL -> rps (a run with failed requests still reports; its errors are logged)
  local out
  out=$("$etchctl" bench put --conns=100 --clients=1000 --total="$2" --val-size=256 --dial-timeout=60 \
    --endpoints="http://127.0.0.1:${port[$1]}" -w json 2>>"$work/etchctl.log") || true
  [[ -n "$out" ]] || die "etchctl bench put on $1 printed nothing: $(tail -5 "$work/etchctl.log")"
  [[ "$(jq -r '.failed // 0' <<<"$out")" == 0 ]] || log "  $1: errors $(jq -c .errors <<<"$out")"
  jq -r .rps <<<"$out"
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

log "load before: $(cut -d' ' -f1-3 /proc/loadavg); warming up both"
run base 5000 >/dev/null
run metrics 5000 >/dev/null
: >"$work/base.rps"
: >"$work/metrics.rps"
for r in $(seq 1 "$ROUNDS"); do
  for s in base metrics; do
    rps=$(run $s "$PUT_TOTAL")
    log "round $r $s: $rps puts/s"
    echo "$rps" >>"$work/$s.rps"
  done
done
b=$(median <"$work/base.rps")
m=$(median <"$work/metrics.rps")
echo "put, 100 conns / 1000 clients, $PUT_TOTAL puts x $ROUNDS rounds each, alternating"
echo "base    median $b puts/s: $(paste -sd' ' "$work/base.rps")"
echo "metrics median $m puts/s: $(paste -sd' ' "$work/metrics.rps")"
echo "ratio metrics/base: $(ratio "$m" "$b")   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
