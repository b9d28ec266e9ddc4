#!/usr/bin/env bash
# scripts/setup.sh - install the Debian packages warden needs to build and
# test. Installs only what is missing, so it is cheap to run again. Works as
# root, or through sudo otherwise.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config   # toolchain
  libopenblas-dev                    # matmul (sgemm)
  libcjson-dev                       # JSON: config.json, safetensors headers, tokenizer.json
  libpcre2-dev                       # regex with JIT: pre-tokenizers, scanners
  libutf8proc-dev                    # Unicode normalisation and classes
  libyaml-dev                        # policy files
  libmicrohttpd-dev                  # warden serve
  libgnutls28-dev                    # TLS: warden serve's https and the gateway's upstream client
  zlib1g-dev                         # gzip datasets
  libunistring-dev                   # static links: GnuTLS (via libmicrohttpd) lists -lunistring
  libcmocka-dev                      # unit tests
  openssl curl                       # test_serve's HTTPS test (self-signed cert, curl client)
  openmpi-bin libopenmpi-dev         # data-parallel training (mpirun -np N warden train); optional to build
)

# Optional, not needed to build or test:
#   --with-chromium  Debian's chromium, used by scripts/check-report.sh to
#                    check that an evaluation report renders;
#   --with-fuzz      clang and libFuzzer's runtime, used by scripts/fuzz.sh;
#   --with-bench     wrk, the HTTP load generator of bench/serve.sh,
#                    bench/gateway-soak.sh and scripts/soak-serve.sh;
#   --with-wordnet   WordNet 3.0 (wordnet-base), read only by
#                    scripts/gen-concepts.py to regenerate the committed
#                    src/guard/concepts_table.inc.
for opt in "$@"; do
  case "$opt" in
    --with-chromium) PACKAGES+=(chromium) ;;
    --with-fuzz) PACKAGES+=(clang libclang-rt-dev) ;;
    --with-bench) PACKAGES+=(wrk) ;;
    --with-wordnet) PACKAGES+=(wordnet-base) ;;
    *) echo "setup: unknown option $opt (--with-chromium, --with-fuzz, --with-bench, --with-wordnet)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
