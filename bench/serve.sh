#!/usr/bin/env bash
# bench/serve.sh - load-test `warden serve` on loopback with wrk.
#
# Starts `warden serve` (built-in policy unless POLICY is set) on a free
# port, then for 1, 16 and 64 connections runs wrk with bench/serve.lua
# (POST /v1/moderations, one ~100-character input per request) and prints
# requests/s and p50/p99 latency. As a reference measured in the same run it
# also drives GET /healthz (the HTTP stack alone: no JSON, no guard) and
# prints the ratio. Installs the Debian package `wrk` if it is missing.
#
#   bash bench/serve.sh                    # 10 s per point, 2 server threads
#   DURATION=5 THREADS=2 CONNS="1 16 64" MODES="pool tpc" bash bench/serve.sh
#
# MODES: pool = MHD's epoll thread pool (the default), tpc = a thread per
# connection. CPUS (e.g. "0-1") pins the server with taskset; on a 2-core
# machine wrk shares the same cores, so the figures are a lower bound.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-"1 16 64"}
MODES=${MODES:-pool}
BUILD=${BUILD:-build}
WARDEN=${WARDEN:-$BUILD/warden}

if ! command -v wrk >/dev/null; then
  echo "bench/serve: installing wrk (Debian package)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null || {
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
fi
if [ ! -x "$WARDEN" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target warden >/dev/null
fi

LOG=$(mktemp)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -f "$LOG"; }
trap cleanup EXIT

start_server() { # $1 = mode
  local extra=()
  [ "$1" = tpc ] && extra+=(--thread-per-connection)
  [ -n "${POLICY:-}" ] && extra+=(--policy "$POLICY")
  local pin=()
  [ -n "${CPUS:-}" ] && pin=(taskset -c "$CPUS")
  : >"$LOG"
  "${pin[@]}" "$WARDEN" serve --port 0 --threads "$THREADS" --max-connections 4096 "${extra[@]}" 2>"$LOG" &
  PID=$!
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\)\/.*/\1/p' "$LOG")
    [ -n "$PORT" ] && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
    sleep 0.05
  done
  echo "bench/serve: server did not start" >&2; cat "$LOG" >&2; exit 1
}

stop_server() {
  kill -TERM "$PID"
  local rc=0
  wait "$PID" || rc=$?
  PID=""
  [ "$rc" -eq 0 ] || { echo "bench/serve: server exited with $rc" >&2; cat "$LOG" >&2; exit 1; }
}

run_wrk() { # $1 = connections, $2 = path
  local c=$1 t=$(( $1 < 2 ? 1 : 2 ))
  WARDEN_BENCH_PATH=$2 wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -s bench/serve.lua \
    "http://127.0.0.1:$PORT" | sed -n 's/^WRK //p'
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# CPU time (user + system, in clock ticks) the server has used so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)

echo "warden serve benchmark: $(nproc) CPUs, server threads=$THREADS, ${DURATION}s per point, $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "input: one ~100-character text per request (bench/serve.lua), policy: ${POLICY:-built-in}"
for mode in $MODES; do
  start_server "$mode"
  # warm-up (page in the guard, grow buffers)
  WARDEN_BENCH_PATH=/v1/moderations wrk -t1 -c4 -d1s -s bench/serve.lua "http://127.0.0.1:$PORT" >/dev/null
  printf '\nmode %-5s %6s %12s %9s %9s %8s %14s %8s %10s %12s\n' "$mode" conns "moderations/s" "p50 ms" \
    "p99 ms" errors "healthz req/s" ratio "cpu us/req" "req/s/2cores"
  for c in $CONNS; do
    t0=$(cpu_ticks)
    m=$(run_wrk "$c" /v1/moderations)
    t1=$(cpu_ticks)
    h=$(run_wrk "$c" /healthz)
    mr=$(field "$m" rps); hr=$(field "$h" rps); n=$(field "$m" requests)
    us=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$n" 'BEGIN{print (n>0)?d*1e6/hz/n:0}')
    printf '%-10s %6d %12.0f %9.3f %9.3f %8d %14.0f %8.2f %10.1f %12.0f\n' "" "$c" "$mr" "$(field "$m" p50_ms)" \
      "$(field "$m" p99_ms)" "$(field "$m" errors)" "$hr" "$(awk -v a="$mr" -v b="$hr" 'BEGIN{print (b>0)?a/b:0}')" \
      "$us" "$(awk -v u="$us" 'BEGIN{print (u>0)?2e6/u:0}')"
  done
  stop_server
done
echo
echo "ratio = moderations/s over healthz req/s at the same concurrency (the share of"
echo "throughput left after JSON parsing, the guard and the answer). cpu us/req = the"
echo "server's own CPU time (user + system, /proc) per moderation request, which does not"
echo "depend on what else runs on the machine; req/s/2cores = 2 s of CPU per second over"
echo "it, the throughput two dedicated cores would give. Target: >= 10000 moderations/s"
echo "with p99 < 10 ms on 2 cores. Load average now: $(cut -d' ' -f1-3 /proc/loadavg)."
