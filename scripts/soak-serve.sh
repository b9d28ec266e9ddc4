#!/usr/bin/env bash
# scripts/soak-serve.sh - run `warden serve` under a mix of valid and invalid
# requests for a while and check that its memory stays flat and it never
# dies.
#
#   bash scripts/soak-serve.sh            # 5 minutes
#   bash scripts/soak-serve.sh 2          # 2 minutes (or MINUTES=2)
#
# Load: wrk with scripts/soak-serve.lua (valid requests, bad JSON, wrong
# types, too many inputs, oversized bodies, unknown routes, missing auth),
# plus a shell loop of truncated bodies and slow senders over /dev/tcp, and
# a SIGHUP (policy reload) every 10 s. Every SAMPLE seconds (default 5) the
# server's RSS is sampled; the series is printed. Fails (exit 1) if the
# server died or answered 500, or if the RSS at the end exceeds the RSS
# after the first 20% of the run by more than SLACK_KB (default 8192 kB).
# Ends with SIGTERM and checks the exit status is 0.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-${MINUTES:-5}}
SAMPLE=${SAMPLE:-5}
SLACK_KB=${SLACK_KB:-8192}
CONNS=${CONNS:-32}
BUILD=${BUILD:-build}
WARDEN=${WARDEN:-$BUILD/warden}
export WARDEN_API_KEY=${WARDEN_API_KEY:-soak-test-key}

command -v wrk >/dev/null || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
[ -x "$WARDEN" ] || { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target warden >/dev/null; }

LOG=$(mktemp)
PID="" WRK_PID="" TCP_PID=""
cleanup() {
  for p in $WRK_PID $TCP_PID $PID; do kill "$p" 2>/dev/null || true; done
  rm -f "$LOG"
}
trap cleanup EXIT

"$WARDEN" serve --port 0 --threads 2 --max-body 65536 --max-inputs 8 --conn-timeout 2 \
  --timeout-ms 3000 ${POLICY:+--policy "$POLICY"} 2>"$LOG" &
PID=$!
PORT=""
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\)\/.*/\1/p' "$LOG")
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.05
done
[ -n "$PORT" ] || { echo "soak: server did not start" >&2; exit 1; }
SECS=$((MINUTES * 60))
echo "soak: warden serve pid $PID on port $PORT for ${MINUTES} min, $CONNS wrk connections"

wrk -t2 -c"$CONNS" -d"${SECS}s" -s scripts/soak-serve.lua "http://127.0.0.1:$PORT" >"$LOG.wrk" 2>&1 &
WRK_PID=$!

# truncated bodies and slow senders, over and over
(
  end=$((SECONDS + SECS))
  while [ $SECONDS -lt $end ]; do
    { exec 3<>"/dev/tcp/127.0.0.1/$PORT" &&
      printf 'POST /v1/moderations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 500\r\n\r\n{"input": "trunc' "$WARDEN_API_KEY" >&3 &&
      exec 3>&-; } 2>/dev/null || true
    { exec 4<>"/dev/tcp/127.0.0.1/$PORT" && printf 'POST /v1/moder' >&4 &&
      sleep 0.3 && exec 4>&-; } 2>/dev/null || true
  done
) &
TCP_PID=$!

declare -a T RSS
t0=$SECONDS
next_hup=10
while kill -0 "$WRK_PID" 2>/dev/null; do
  sleep "$SAMPLE"
  kill -0 "$PID" 2>/dev/null || { echo "soak: FAIL: the server died" >&2; cat "$LOG" >&2; exit 1; }
  el=$((SECONDS - t0))
  r=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status")
  T+=("$el"); RSS+=("$r")
  if [ "$el" -ge "$next_hup" ]; then kill -HUP "$PID"; next_hup=$((next_hup + 10)); fi
done
wait "$WRK_PID" || true
WRK_PID=""
kill "$TCP_PID" 2>/dev/null || true
wait "$TCP_PID" 2>/dev/null || true
TCP_PID=""

METRICS=$(curl -s -H "Authorization: Bearer $WARDEN_API_KEY" "http://127.0.0.1:$PORT/metrics" || true)
kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
PID=""

echo "soak: RSS series (seconds: kB)"
n=${#RSS[@]}
for ((k = 0; k < n; k++)); do printf '  %4ds %7d kB\n' "${T[k]}" "${RSS[k]}"; done
sed -n 's/^WRK /soak: wrk: /p' "$LOG.wrk"; rm -f "$LOG.wrk"
echo "soak: answers by route and code:"
echo "$METRICS" | sed -n 's/^warden_http_requests_total{route="\([^"]*\)",code="\([0-9]*\)"} \([0-9]*\)$/  \1 \2 \3/p'
reloads=$(echo "$METRICS" | sed -n 's/^warden_policy_reloads_total{result="ok"} //p')
echo "soak: policy reloads under load: ${reloads:-0}"

fail=0
base_i=$((n / 5)); [ "$base_i" -lt 1 ] && base_i=1
base=${RSS[base_i - 1]}; last=${RSS[n - 1]}; peak=0
for r in "${RSS[@]}"; do [ "$r" -gt "$peak" ] && peak=$r; done
echo "soak: RSS after 20%: $base kB, at the end: $last kB, peak: $peak kB (slack $SLACK_KB kB)"
if [ "$last" -gt $((base + SLACK_KB)) ]; then echo "soak: FAIL: RSS grew by $((last - base)) kB"; fail=1; fi
if echo "$METRICS" | grep -q 'code="500"'; then echo "soak: FAIL: the server answered 500"; fail=1; fi
if [ "$rc" -ne 0 ]; then echo "soak: FAIL: SIGTERM exit status $rc"; fail=1; fi
grep -v "policy reloaded\|listening on\|finishing requests\|stopped" "$LOG" | head -5 || true
[ "$fail" -eq 0 ] && echo "soak: PASS"
exit "$fail"
