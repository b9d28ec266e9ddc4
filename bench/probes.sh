#!/bin/sh
# bench/probes.sh - how many of warden's own probe prompts (bench/probes/,
# see its README) the default guard flags.
#
#   bench/probes.sh [WARDEN]     (default: build/warden)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
warden=${1:-build/warden}
[ -x "$warden" ] || { echo "probes: $warden is missing (build warden first)" >&2; exit 2; }
for f in harmful-requests benign-alarming toxic-content; do
    n=$(grep -c . "$here/probes/$f.txt")
    # exit status 1 only says something was unsafe
    flagged=$("$warden" check --json - <"$here/probes/$f.txt" | grep -c '"unsafe":true' || true)
    printf '%-18s %3s / %3s flagged\n' "$f" "$flagged" "$n"
done
