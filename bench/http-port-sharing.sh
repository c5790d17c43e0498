#!/usr/bin/env bash
# gRPC put throughput through the client port with and without the HTTP gateway's port sharing:
# BASE_JAR_DIR is an etch-server/target built from the commit before the gateway (git archive +
# ./mvnw package), the other the current tree. Alternates A/B runs in one session on one machine.
# Usage: BASE_JAR_DIR=/tmp/http-base/etch-server/target bench/http-port-sharing.sh [rounds]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-3}"
total="${PUT_TOTAL:-50000}"
opts="-XX:+UseSerialGC -XX:MaxHeapFreeRatio=20 -XX:MinHeapFreeRatio=5"
run() { # $1 = label, $2 = target dir
  local port=$((20000 + RANDOM % 10000)) data
  data="$(mktemp -d)"
  # shellcheck disable=SC2086
  java $opts -cp "$2/etch-server.jar:$2/lib/*" io.etch.server.Main --data-dir "$data/d" \
    --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-cluster "default=http://127.0.0.1:$((port + 1))" >"$data/log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$port" endpoint health >/dev/null 2>&1 && break
    sleep 0.2
  done
  local out
  out="$("$root/bin/etchctl" bench put --endpoints "127.0.0.1:$port" --conns=100 --clients=1000 \
    --total="$total" --val-size=256 2>&1)"
  echo "$1 $(echo "$out" | grep -i "requests/sec" | head -1)"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
for r in $(seq "$rounds"); do
  run "before(round $r)" "${BASE_JAR_DIR:?}"
  run "after(round $r)" "$root/etch-server/target"
done
