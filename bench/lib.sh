# Shell helpers shared by bench/compare.sh, bench/cluster-compare.sh and bench/rss.sh; sourced,
# not run.
# The sourcing script sets BENCH_NAME (the log prefix) and, before calling wait_port, $work.
# shellcheck shell=bash

ETCD_BIN="${ETCD_BIN:-/usr/bin/etcd}"
ETCDCTL_BIN="${ETCDCTL_BIN:-/usr/bin/etcdctl}"

log() { echo "[${BENCH_NAME:-bench} $(date +%T)] $*" >&2; }

# die MESSAGE: a clear message and a non-zero exit (the EXIT trap cleans up).
die() {
  log "FAILED: $*"
  exit 1
}

# Debian's etcd 3.4 server and client, installed when missing (apt's index is refreshed once if
# the first install fails); jq for the reports.
need_etcd() {
  if [[ ! -x "$ETCD_BIN" || ! -x "$ETCDCTL_BIN" ]]; then
    log "etcd or etcdctl missing; installing Debian's etcd-server and etcd-client"
    apt-get install -y etcd-server etcd-client >&2 ||
      { apt-get update >&2 && apt-get install -y etcd-server etcd-client >&2; } ||
      die "cannot install etcd-server and etcd-client"
  fi
  command -v jq >/dev/null || die "jq is needed: apt-get install -y jq"
}

# Builds bin/etch and bin/etchctl (first use builds) before any clock starts.
build_etch() { # ROOT
  "$1/bin/etch" --version >/dev/null || die "bin/etch does not build"
  "$1/bin/etchctl" --version >/dev/null || die "bin/etchctl does not build"
}

# A free TCP port on 127.0.0.1 that no earlier call returned. Below the kernel's ephemeral range
# (ip_local_port_range, 32768 up by default): a JVM member can take 30 s or more to bind on a busy
# machine, and a port in that range was taken meanwhile by another program's outgoing connection.
_taken=" "
free_port() {
  local p lo
  lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((lo > 12000)) || lo=32768
  while true; do
    p=$((10000 + RANDOM % (lo - 10000)))
    [[ "$_taken" == *" $p "* ]] && continue
    if ! ss -Hltn "sport = :$p" | grep -q .; then
      _taken+="$p "
      echo "$p"
      return
    fi
  done
}

# wait_port NAME PORT PID LOGFILE [SECONDS]: until PORT accepts connections; fails with the
# member's log when the process exits or the port stays closed.
wait_port() {
  local limit=$((${5:-60} * 5))
  for _ in $(seq 1 "$limit"); do
    if (echo >/dev/tcp/127.0.0.1/"$2") 2>/dev/null; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then
      log "$1 (pid $3) exited; last lines of $4:"
      tail -20 "$4" >&2
      die "$1 did not start"
    fi
    sleep 0.2
  done
  log "last lines of $4:"
  tail -20 "$4" >&2
  die "$1 did not listen on $2 within ${5:-60} s"
}

# stop_pid PID...: SIGTERM, up to 10 s to exit, then SIGKILL. Only pids this script started.
stop_pid() {
  local pid
  for pid in "$@"; do
    [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    [[ -n "$pid" ]] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# ---- figures from etchctl bench -w json lines ----

ratio() { # A B -> A/B with 2 decimals, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "null" || b == "null" || b == 0) print "n/a"; else printf "%.2f", a / b }'
}
ms() { awk -v u="$1" 'BEGIN { if (u == "" || u == "null") print "n/a"; else printf "%.2f", u / 1000 }'; }
# json_get FILE EXPR: a figure from a run's JSON line; empty (shown n/a) when no request succeeded.
json_get() { jq -r "if (.ok // 0) > 0 then ($2 // empty) else empty end" "$1"; }
# json_fails FILE -> "" or " (N failed: first error)"
json_fails() {
  jq -r 'if (.failed // 1) != 0 then " (\(.failed // "?") failed: \(.errors | keys[0] // "" | .[0:60]))" else empty end' "$1"
}

# The machine line of a report: disk of DIR, cores, CPU model, RAM.
machine() { # DIR
  echo "data dirs on the same disk ($(df -P "$1" | awk 'NR==2 {print $1}')), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
}
etcd_version() { "$ETCD_BIN" --version | awk 'NR == 1 {print $3}'; }

# cpu_ticks PID... -> user+system CPU clock ticks those processes have used so far (dead ones: 0).
cpu_ticks() {
  local p t=0 v
  for p in "$@"; do
    v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# jit_ticks PID... -> the CPU clock ticks of those JVMs' JIT compiler threads (C1/C2) so far; 0 for
# a process that has none (etcd). How far from its steady state a JVM member still is. One awk over
# every thread's stat line: the thread name (field 2, in parentheses) may hold spaces, so the
# fields are counted from after its closing parenthesis (utime and stime are then 12 and 13).
jit_ticks() {
  local p t=0 v
  for p in "$@"; do
    v=$(cat /proc/"$p"/task/*/stat 2>/dev/null |
      awk '/^[0-9]+ \(C[12] Compiler/ { sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }')
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# percent PART WHOLE -> PART as a whole percentage of WHOLE; 0 when WHOLE is not positive.
percent() {
  if (($2 > 0)); then echo $(($1 * 100 / $2)); else echo 0; fi
}

# rss_kib PID -> the process's resident set (VmRSS) in KiB.
rss_kib() { ps -o rss= -p "$1" | tr -d ' '; }

# etch_diag PID DIR: where an etch member's memory goes, into DIR: /proc smaps_rollup and status,
# pmap -x, the JVM's native memory summary (when the JVM runs with -XX:NativeMemoryTracking), the
# heap, a class histogram (it runs a full collection, so it comes after the figures it could move),
# its threads, and what System.trim_native_heap gives back (memory glibc's malloc holds free).
etch_diag() {
  local p
  p=$(pgrep -P "$1" java || echo "$1") # bin/etch execs java: same pid
  mkdir -p "$2"
  cat "/proc/$p/smaps_rollup" >"$2/smaps_rollup.txt"
  cat "/proc/$p/status" >"$2/status.txt"
  pmap -x "$p" >"$2/pmap.txt" 2>&1 || true
  jcmd "$p" VM.native_memory summary >"$2/nmt.txt" 2>&1 || true
  jcmd "$p" GC.heap_info >"$2/heap.txt" 2>&1 || true
  ls -l "/proc/$p/task" | wc -l >"$2/threads.txt"
  for t in /proc/"$p"/task/*; do cat "$t/comm"; done | sed 's/[-_ ]*[0-9]*$//' | sort | uniq -c \
    | sort -rn >>"$2/threads.txt"
  jcmd "$p" System.trim_native_heap >"$2/trim.txt" 2>&1 || true
  echo "RSS after System.trim_native_heap: $(($(rss_kib "$p") / 1024)) MiB" >>"$2/trim.txt"
  jcmd "$p" GC.class_histogram >"$2/histo.txt" 2>&1 || true
  log "etch diagnostics in $2"
}
