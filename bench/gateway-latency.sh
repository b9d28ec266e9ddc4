#!/usr/bin/env bash
# bench/gateway-latency.sh - the latency the chat gateway's rails add to a
# request (issue 21: goal <= 1 ms p50 with the built-in policy).
#
# Starts bench_gateway's fake upstream (bench/gateway.c: a fixed chat
# answer, one epoll thread, a few microseconds per request) and
# `warden serve --upstream` in front of it, then sends the same chat
# request (a harmless ~100-character question; the answer is harmless too,
# so both rails run and pass) N times to each of:
#   direct            the fake, one keep-alive connection
#   direct-new-conn   the fake, a new connection per request (what the
#                     gateway does towards its upstream)
#   gateway           warden serve --upstream, one keep-alive connection
# interleaved request by request, so that all three see the same load.
# Prints p50/p99/mean per target and the gateway's p50/p99 minus the
# direct ones, and the ratio of the p50s.
#
#   bash bench/gateway-latency.sh            # 2000 requests per target
#   N=5000 POLICY=policies/lexicon-only.yaml bash bench/gateway-latency.sh
#
# CPUS (e.g. "1") pins the gateway with taskset. On a shared 2-core machine
# the client, the fake and the gateway share the cores: the p99 then shows
# the machine's load more than the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-2000}
BUILD=${BUILD:-build}
WARDEN=${WARDEN:-$BUILD/warden}
BENCH=${BENCH:-$BUILD/bench/bench_gateway}
THREADS=${THREADS:-2}

if [ ! -x "$WARDEN" ] || [ ! -x "$BENCH" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target warden bench_gateway >/dev/null
fi

LOG=$(mktemp -d)
FAKE_PID="" GW_PID=""
cleanup() {
  for p in $GW_PID $FAKE_PID; do kill "$p" 2>/dev/null || true; done
  rm -rf "$LOG"
}
trap cleanup EXIT

# wait_port PID LOG: the port of a "listening on http://127.0.0.1:PORT/" line
wait_port() {
  local port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$2" | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  cat "$2" >&2
  return 1
}

"$BENCH" fake 2>"$LOG/fake" &
FAKE_PID=$!
FAKE_PORT=$(wait_port "$FAKE_PID" "$LOG/fake")

pin=()
[ -n "${CPUS:-}" ] && pin=(taskset -c "$CPUS")
WARDEN_API_KEY="" "${pin[@]}" "$WARDEN" serve --port 0 --threads "$THREADS" \
  --upstream "http://127.0.0.1:$FAKE_PORT/v1" ${POLICY:+--policy "$POLICY"} 2>"$LOG/gw" &
GW_PID=$!
GW_PORT=$(wait_port "$GW_PID" "$LOG/gw")

echo "gateway-latency: fake upstream on $FAKE_PORT, warden serve --upstream on $GW_PORT" \
     "(policy: ${POLICY:-built-in}), $N requests per target, load average $(cut -d' ' -f1-3 /proc/loadavg)"
out=$("$BENCH" latency "$N" \
  "direct=http://127.0.0.1:$FAKE_PORT/v1/chat/completions" \
  "direct-new-conn=fresh+http://127.0.0.1:$FAKE_PORT/v1/chat/completions" \
  "gateway=http://127.0.0.1:$GW_PORT/v1/chat/completions")
echo "$out"

gw=$(echo "$out" | awk '$1 == "gateway" {print $2}')
di=$(echo "$out" | awk '$1 == "direct" {print $2}')
added=$(awk -v g="$gw" -v d="$di" 'BEGIN {printf "%.1f", g - d}')
if awk -v a="$added" 'BEGIN {exit !(a <= 1000)}'; then
  echo "gateway-latency: added p50 ${added} us <= 1000 us: goal met"
else
  echo "gateway-latency: added p50 ${added} us > 1000 us: goal NOT met"
fi
