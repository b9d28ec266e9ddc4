#!/bin/sh
# tests/tools/audit_report.sh WARDEN FIXTURES SRC TMP - `warden audit` on the
# fixture corpus (tests/fixtures/audit: the team's own sentences), then its
# report.html rendered in headless Chromium (scripts/check-report.sh: no
# console errors, self-contained). Exits 77 (skipped) without Chromium.
set -eu
warden=$1 fixtures=$2 src=$3 tmp=$4
rm -rf "$tmp"
mkdir -p "$tmp"
"$warden" audit --data "$fixtures/audit_corpus.jsonl" --compare "$fixtures/audit_heldout.jsonl" --out "$tmp/out" \
    --scrub "$tmp/train.scrubbed.jsonl" -q >/dev/null
test -s "$tmp/out/audit.json"
grep -q '\[EMAIL\]' "$tmp/train.scrubbed.jsonl"
exec bash "$src/scripts/check-report.sh" "$tmp/out/report.html"
