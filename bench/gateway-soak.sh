#!/usr/bin/env bash
# bench/gateway-soak.sh - the chat gateway under load for a while: its
# memory must stay flat and it must never fail a request (issue 21).
#
#   bash bench/gateway-soak.sh          # 10 minutes (or MINUTES=10)
#   bash bench/gateway-soak.sh 2        # 2 minutes
#
# `warden serve --upstream` (built-in policy unless POLICY is set) in front
# of bench_gateway's fake upstream (bench/gateway.c), loaded by wrk with
# bench/gateway-soak.lua: allowed chats, prompts the input rail blocks,
# streamed chats (checked every K tokens), a legacy completion,
# moderations and /v1/models, over CONNS (16) connections. Every SAMPLE
# (10) seconds the gateway's RSS is sampled. Prints the series, then the
# first, the warm (the first sample at or after 20% of the run), the last
# and the largest RSS, and "flat" when last <= 1.1 x warm. The gateway
# writes an access log (--access-log, in a temporary folder; ACCESS_LOG=0:
# none, about 300 bytes a request): it must hold one line per request wrk
# completed (plus the few in flight when wrk stopped, and /healthz and
# /metrics at the end). Fails (exit 1) when the RSS is not flat, the
# gateway died, any request was answered other than 2xx or hit a socket
# error, access-log lines are missing, or SIGTERM did not end it with
# status 0. Installs the Debian package wrk when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-${MINUTES:-10}}
SAMPLE=${SAMPLE:-10}
CONNS=${CONNS:-16}
BUILD=${BUILD:-build}
WARDEN=${WARDEN:-$BUILD/warden}
BENCH=${BENCH:-$BUILD/bench/bench_gateway}

if ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null || {
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
fi
if [ ! -x "$WARDEN" ] || [ ! -x "$BENCH" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target warden bench_gateway >/dev/null
fi

LOG=$(mktemp -d)
FAKE_PID="" GW_PID="" WRK_PID=""
cleanup() {
  for p in $WRK_PID $GW_PID $FAKE_PID; do kill "$p" 2>/dev/null || true; done
  rm -rf "$LOG"
}
trap cleanup EXIT

wait_port() { # PID LOG: the port of its "listening on http://127.0.0.1:PORT/" line
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
alog=()
[ "${ACCESS_LOG:-1}" != 0 ] && alog=(--access-log "$LOG/access.log")
WARDEN_API_KEY="" "$WARDEN" serve --port 0 --upstream "http://127.0.0.1:$FAKE_PORT/v1" \
  ${POLICY:+--policy "$POLICY"} "${alog[@]}" 2>"$LOG/gw" &
GW_PID=$!
GW_PORT=$(wait_port "$GW_PID" "$LOG/gw")

SECS=${SOAK_SECONDS:-$((MINUTES * 60))} # SOAK_SECONDS: a shorter trial
echo "gateway-soak: warden serve --upstream (pid $GW_PID, port $GW_PORT) in front of the fake" \
     "upstream (port $FAKE_PORT), $SECS s, $CONNS wrk connections"
wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s -s bench/gateway-soak.lua \
  "http://127.0.0.1:$GW_PORT" >"$LOG/wrk" 2>&1 &
WRK_PID=$!

declare -a T RSS
t0=$SECONDS
while kill -0 "$WRK_PID" 2>/dev/null; do
  sleep "$SAMPLE"
  kill -0 "$GW_PID" 2>/dev/null || { echo "gateway-soak: FAIL: the gateway died" >&2; cat "$LOG/gw" >&2; exit 1; }
  kill -0 "$WRK_PID" 2>/dev/null || break # sample under load only
  T+=($((SECONDS - t0)))
  RSS+=("$(awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status")")
done
wait "$WRK_PID" || true
WRK_PID=""

health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_PORT/healthz" || true)
METRICS=$(curl -s "http://127.0.0.1:$GW_PORT/metrics" || true)
kill -TERM "$GW_PID"
rc=0; wait "$GW_PID" || rc=$?
GW_PID=""

echo "gateway-soak: RSS series (seconds: kB)"
n=${#RSS[@]}
for ((k = 0; k < n; k++)); do printf '  %5ds %8d kB\n' "${T[k]}" "${RSS[k]}"; done
sed -n 's/^WRK /gateway-soak: wrk: /p' "$LOG/wrk"
echo "gateway-soak: answers by route and code:"
echo "$METRICS" | sed -n 's/^warden_http_requests_total{route="\([^"]*\)",code="\([0-9]*\)"} \([0-9]*\)$/  \1 \2 \3/p'

fail=0
if [ "$n" -lt 2 ]; then echo "gateway-soak: FAIL: fewer than 2 RSS samples (run longer)"; exit 1; fi
warm_i=0
for ((k = 0; k < n; k++)); do
  if [ "${T[k]}" -ge $((SECS / 5)) ]; then warm_i=$k; break; fi
done
first=${RSS[0]} warm=${RSS[warm_i]} last=${RSS[n - 1]} peak=0
for r in "${RSS[@]}"; do [ "$r" -gt "$peak" ] && peak=$r; done
limit=$((warm * 11 / 10))
echo "gateway-soak: RSS first $first kB, warm (${T[warm_i]} s) $warm kB, last $last kB, max $peak kB"
if [ "$last" -le "$limit" ]; then
  echo "gateway-soak: RSS flat (last <= 1.1 x warm = $limit kB)"
else
  echo "gateway-soak: FAIL: RSS not flat (last $last kB > 1.1 x warm = $limit kB)"; fail=1
fi
wrk_line=$(grep '^WRK ' "$LOG/wrk" || true)
non2xx=$(echo "$wrk_line" | sed -n 's/.*non2xx=\([0-9]*\).*/\1/p')
sockerr=$(echo "$wrk_line" | sed -n 's/.*sockerr=\([0-9]*\).*/\1/p')
if [ -z "$wrk_line" ]; then echo "gateway-soak: FAIL: wrk printed no summary"; cat "$LOG/wrk"; fail=1; fi
if [ "${non2xx:-0}" -ne 0 ]; then echo "gateway-soak: FAIL: $non2xx answers were not 2xx"; fail=1; fi
if [ "${sockerr:-0}" -ne 0 ]; then echo "gateway-soak: FAIL: $sockerr socket errors"; fail=1; fi
if [ ${#alog[@]} -gt 0 ]; then
  done_n=$(echo "$wrk_line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
  lines=$(wc -l <"$LOG/access.log")
  lo=$((${done_n:-0} + 2)) hi=$((${done_n:-0} + 2 + CONNS))
  echo "gateway-soak: access log: $lines lines for ${done_n:-0} completed requests (+2, + up to $CONNS in flight at the end)"
  if [ "$lines" -lt "$lo" ] || [ "$lines" -gt "$hi" ]; then
    echo "gateway-soak: FAIL: access log lines $lines not in [$lo, $hi]"; fail=1
  fi
fi
if [ "$health" != 200 ]; then echo "gateway-soak: FAIL: /healthz answered $health after the run"; fail=1; fi
if [ "$rc" -ne 0 ]; then echo "gateway-soak: FAIL: SIGTERM exit status $rc"; fail=1; fi
grep -v "listening on\|chat gateway\|finishing requests\|stopped" "$LOG/gw" | head -5 || true
[ "$fail" -eq 0 ] && echo "gateway-soak: PASS"
exit "$fail"
