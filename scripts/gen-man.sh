#!/bin/sh
# scripts/gen-man.sh WARDEN OUT - writes the man page warden(1) from the
# command's own help texts (`warden --help` and `warden COMMAND --help`), so
# the page says exactly what the binary does. Run by the build (target man).
set -eu
warden=$1 out=$2
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT

# roff: a backslash is \e; a line starting with . or ' needs \& first
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/^-/\\-/' ; }

version=$("$warden" version | sed 's/^warden //')
cmds=$("$warden" --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z-][a-z-]*\) .*/\1/p')
{
  printf '.TH WARDEN 1 "" "warden %s" "User Commands"\n' "$version"
  printf '.SH NAME\nwarden \\- keep language models safe\n'
  printf '.SH SYNOPSIS\n.B warden\n.I COMMAND\n[\\fIARGS\\fR...]\n.br\n'
  printf '.B warden\n.I COMMAND\n.B \\-\\-help\n.br\n.B warden \\-V\n'
  printf '.SH DESCRIPTION\n'
  printf 'warden guards prompts and responses of language models (rule scanners, a\n'
  printf 'built-in classifier, LLM judges, certified erase-and-check), evaluates guards\n'
  printf 'and models on labelled data and attacks, and runs Hugging Face checkpoints on\n'
  printf 'the CPU. Every command reads its input from arguments, files or standard\n'
  printf 'input and needs no network.\n'
  printf '.SH COMMANDS\n'
  for c in $cmds; do
    summary=$("$warden" --help | sed -n "s/^  $c  *//p" | head -n 1)
    printf '.SS "warden %s"\n' "$c"
    printf '%s\n' "$summary" | esc
    printf '.PP\n.nf\n'
    "$warden" "$c" --help | esc
    printf '.fi\n'
  done
  printf '.SH EXIT STATUS\n'
  printf '.TP\n.B 0\nsuccess\n.TP\n.B 1\nan input was flagged unsafe (check, certify)\n'
  printf '.TP\n.B 2\nusage error\n.TP\n.B 3\nruntime error: the message names the file, the field and the reason\n'
  printf '.SH ENVIRONMENT\n.TP\n.B WARDEN_LOG\ndebug, info, warn or error: how much the library logs to standard error.\n'
  printf '.TP\n.B WARDEN_API_KEY\n\\fBwarden serve\\fR: the bearer token clients must send.\n'
  printf '.SH SEE ALSO\nThe documents under docs/ in the source tree: eval.md, certify.md, serve.md,\n'
  printf 'runtime.md, tokenizers.md, policy.md, fuzzing.md.\n'
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
