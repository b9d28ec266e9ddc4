#!/bin/sh
# tests/tools/check_layout.sh SRC_DIR - the house rules of docs/architecture.md,
# checked on the source tree:
#   1. no file in src/ over 800 lines (generated tables, *.inc, excepted);
#   2. dependencies point down only: a file in a layer includes headers of
#      its own layer or of lower ones (the table below), internal ones
#      (src/LAYER/...) and public ones (include/warden/X.h, counted in the
#      layer that implements X: public_layer below);
#   3. the command (tools/warden/) includes only public headers
#      (warden/*.h) and its own (cli*.h).
# Prints every breach and exits 1 if there is one.
set -u
root=${1:-.}
cd "$root" || exit 2
bad=0

for f in $(find src -name '*.c' -o -name '*.h' | sort); do
    n=$(wc -l < "$f")
    if [ "$n" -gt 800 ]; then
        echo "size: $f has $n lines (limit 800)"
        bad=1
    fi
done

# layer -> the layers it may include (itself included)
allowed() {
    case $1 in
    base)    echo "base" ;;
    tensor)  echo "base tensor" ;;
    io)      echo "base tensor io" ;;
    text)    echo "base tensor io text" ;;
    model)   echo "base tensor io text model" ;;
    guard)   echo "base tensor io text model guard" ;;
    certify) echo "base tensor io text model guard certify" ;;
    eval)    echo "base tensor io text model guard certify eval" ;;
    train)   echo "base tensor io text model guard train" ;;
    weights) echo "base tensor io text model guard certify eval weights" ;;
    explain) echo "base tensor io text model guard certify eval train explain" ;;
    serve)   echo "base tensor io text model guard certify eval serve" ;;
    top)     echo "top" ;;
    *)       echo "" ;;
    esac
}

# a public header -> the layer that implements it
public_layer() {
    case $1 in
    base | json | taxonomy) echo base ;;
    ops | ggml_type) echo tensor ;;
    safetensors | checkpoint | gguf | dataset) echo io ;;
    tokenizer | chat) echo text ;;
    config | model) echo model ;;
    guard | textclf | router | guard_format) echo guard ;;
    certify) echo certify ;;
    eval | attack | metrics | report | redteam | scorecard) echo eval ;;
    train) echo train ;;
    weights) echo weights ;;
    explain) echo explain ;;
    serve) echo serve ;;
    audit) echo explain ;;
    *) echo top ;;
    esac
}

for dir in src/*/; do
    layer=$(basename "$dir")
    ok=$(allowed "$layer")
    if [ -z "$ok" ]; then
        echo "layers: src/$layer is not in the layer table of tests/tools/check_layout.sh"
        bad=1
        continue
    fi
    for f in $(find "$dir" -name '*.c' -o -name '*.h' | sort); do
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\/[a-z_0-9]*\)\..*/\1/p' "$f" | sort -u); do
            case $inc in
            warden/*) inc=$(public_layer "${inc#warden/}") ;;
            *) inc=${inc%%/*} ;;
            esac
            case " $ok " in
            *" $inc "*) ;;
            *) echo "layers: $f ($layer) includes $inc/"; bad=1 ;;
            esac
        done
    done
done

for f in tools/warden/*.c tools/warden/*.h; do
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
        grep -v '"warden/[a-z_0-9]*\.h"' | grep -v '"cli[a-z_0-9]*\.h"' |
        sed "s|^|cli: $f:|" | grep . && bad=1
done

[ "$bad" -eq 0 ] && echo "layout: ok"
exit "$bad"
