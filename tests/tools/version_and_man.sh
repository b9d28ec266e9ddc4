#!/bin/sh
# tests/tools/version_and_man.sh WARDEN MANPAGE - `warden -V`, `--version`
# and `version --json` agree; the generated man page has a section for every
# command that `warden --help` lists and renders without roff warnings.
set -eu
warden=$1 man=$2
v=$("$warden" version)
[ "$("$warden" -V)" = "$v" ] && [ "$("$warden" --version)" = "$v" ]
ver=${v#warden }
[ "$("$warden" version --json)" = "{\"name\":\"warden\",\"version\":\"$ver\"}" ]
rc=0; "$warden" version --bogus 2>/dev/null || rc=$?
[ "$rc" -eq 2 ]
[ -s "$man" ]
for c in $("$warden" --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z-][a-z-]*\) .*/\1/p'); do
  grep -q "^\.SS \"warden $c\"" "$man" || { echo "man page lacks $c"; exit 1; }
done
if command -v groff >/dev/null; then
  w=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
  [ -z "$w" ] || { echo "groff: $w"; exit 1; }
fi
echo ok
