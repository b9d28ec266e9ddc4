#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] - build every libFuzzer target with
# clang (ASan + UBSan) and run each for SECONDS (default 60), one after the
# other. Installs clang and libFuzzer's runtime from Debian when missing.
#
# Each run starts from the committed seeds (tests/fuzz/corpus/NAME) and grows
# a scratch corpus under build-fuzz/corpus/NAME, so the committed corpus is
# only changed by hand. Any crash, leak, timeout or sanitizer report stops
# the script with a non-zero exit and names the input file (kept under
# build-fuzz/artifacts/); put it into tests/fuzz/corpus/NAME once fixed so
# the replay tests keep checking it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
shift || true
case "$SECS" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2;; esac

bash scripts/setup.sh --with-fuzz
command -v clang >/dev/null || { echo "fuzz: clang not found after setup" >&2; exit 1; }

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DWD_FUZZ=ON -DWD_SANITIZE=ON \
      -DCMAKE_BUILD_TYPE=Debug -DWD_BENCH=OFF >/dev/null
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.c; do TARGETS+=("$(basename "$src" .c)"); done
fi
cmake --build build-fuzz -j"$(nproc 2>/dev/null || echo 2)" --target "${TARGETS[@]}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p build-fuzz/artifacts
status=0
for t in "${TARGETS[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  extra=()
  [ -f "tests/fuzz/$t.dict" ] && extra+=("-dict=tests/fuzz/$t.dict")
  [ "$t" = fuzz_safetensors ] && extra+=("-dict=tests/fuzz/safetensors.dict")
  echo "== $t: ${SECS}s =="
  log=build-fuzz/artifacts/$t.log
  if build-fuzz/tests/"$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$SECS" \
       -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix=build-fuzz/artifacts/"$t"- "${extra[@]}" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$log" | tail -2 || true
  else
    status=1
    echo "fuzz: $t FAILED (log: $log)" >&2
    grep -E "ERROR|runtime error|Test unit written" "$log" | head -5 >&2 || true
  fi
done
[ $status -eq 0 ] && echo "fuzz: ${#TARGETS[@]} targets, ${SECS}s each, no failure"
exit $status
