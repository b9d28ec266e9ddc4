#!/usr/bin/env bash
# scripts/check-report.sh - check that an evaluation report renders: open it
# in headless Chromium, take a screenshot and fail on console errors, on
# failed loads, or when the page is not self-contained (scripts, remote
# URLs, @import). Needs Debian's `chromium` (optional: bash scripts/setup.sh
# --with-chromium installs it); without it the script says so and exits 77.
#
#   scripts/check-report.sh OUT/report.html [SCREENSHOT.png]
#
# The screenshot defaults to OUT/report.png.
set -euo pipefail
report=${1:?usage: scripts/check-report.sh REPORT.html [SCREENSHOT.png]}
[ -f "$report" ] || { echo "check-report: $report: no such file" >&2; exit 2; }
shot=${2:-"${report%.html}.png"}
report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
case "$shot" in /*) ;; *) shot="$PWD/$shot" ;; esac

fail=0
# 1. self-contained: no scripts, nothing fetched from elsewhere
if grep -qiE '<script|src="(https?:)?//|href="(https?:)?//|@import|url\((https?:)?//' "$report"; then
  echo "check-report: FAIL: $report refers to outside resources or holds scripts:" >&2
  grep -oiE '<script[^>]*>|src="[^"]*"|href="[^"]*"|@import[^;]*|url\([^)]*\)' "$report" | head -5 >&2
  fail=1
fi
grep -q '<svg' "$report" || { echo "check-report: FAIL: no SVG plot in $report" >&2; fail=1; }

# 2. render it
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
  echo "check-report: chromium not installed (apt-get install chromium); skipped the render check" >&2
  exit 77
fi
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --enable-logging=stderr --v=0 \
  --window-size=1280,2400 --screenshot="$shot" "file://$report" >"$log" 2>&1 || {
  echo "check-report: FAIL: chromium exited with an error:" >&2
  tail -20 "$log" >&2
  exit 1
}
# Console messages from the page are logged as ...:CONSOLE:line] "..." (or CONSOLE(line));
# a failed load as net::ERR_...
if grep -E ':CONSOLE|Uncaught|net::ERR_|Failed to load resource' "$log" >/dev/null; then
  echo "check-report: FAIL: console errors while rendering $report:" >&2
  grep -E ':CONSOLE|Uncaught|net::ERR_|Failed to load resource' "$log" | head -20 >&2
  fail=1
fi
if [ ! -s "$shot" ] || [ "$(stat -c %s "$shot")" -lt 20000 ]; then
  echo "check-report: FAIL: no (or an empty-looking) screenshot at $shot" >&2
  fail=1
fi
[ $fail -eq 0 ] && echo "check-report: OK: $report renders with no console errors; screenshot $shot ($(stat -c %s "$shot") bytes)"
exit $fail
