#!/bin/sh
# tests/tools/progress_tty.sh WARDEN DIR - on a terminal, `warden eval`
# draws a progress line that each redraw clears to its end (ESC [ K), so a
# shorter last line (no ETA) leaves nothing of the one before; the last
# redraw shows every item done. Runs under script(1) for a pseudo-terminal;
# skips (77) where script is missing.
set -eu
warden=$1 dir=$2
command -v script >/dev/null || exit 77
rm -rf "$dir"
mkdir -p "$dir"
i=0
while [ $i -lt 300 ]; do echo "how do I bake bread number $i"; i=$((i + 1)); done > "$dir/data.txt"
script -qec "$warden eval --data $dir/data.txt:label=benign --out $dir/out" /dev/null > "$dir/tty.log" 2>&1
grep -q "$(printf '\033\\[K')" "$dir/tty.log" || { echo "no clear-to-end-of-line in the progress line"; exit 1; }
# the text after the last carriage return: the final redraw
last=$(tr '\r' '\n' < "$dir/tty.log" | grep 'eval \[' | tail -n 1)
case "$last" in
  *"300/300"*) ;;
  *) echo "last progress line: $last"; exit 1 ;;
esac
case "$last" in
  *ETA*) echo "ETA left on the finished line: $last"; exit 1 ;;
esac
echo ok
