#!/bin/sh
# run.sh - safetensors-convert on the bundled models: every float dtype,
# sharding and unsharding, --only, --align, the round trips that must be
# byte-identical, and the refusals. Every output is opened again by the
# inspector (--check opens it as safetensors_open or safetensors_model_open
# does; --diff compares tensors, bytes and metadata).
#
#   sh tests/convert/run.sh CONVERT INSPECT TMPDIR
#
# Run from the top of the repository. Exit status 0 when every case passes.
set -u
if [ $# -ne 3 ]; then
    echo "usage: $0 CONVERT INSPECT TMPDIR" >&2
    exit 2
fi
convert=$1
inspect=$2
tmp=$3
gpt2=tests/models/tiny-gpt2/model.safetensors
llama=tests/models/tiny-llama-bf16-sharded
rm -rf "$tmp" && mkdir -p "$tmp" || exit 2
cases=0
failed=0

fail() {
    echo "test-convert-tool: $*"
    failed=$((failed + 1))
}

# run ARGS...: the converter must succeed.
run() {
    cases=$((cases + 1))
    "$convert" "$@" > "$tmp/last.out" 2> "$tmp/last.err" || { fail "convert $*: exit $?"; cat "$tmp/last.err"; }
}

# opens PATH: the inspector accepts it.
opens() {
    cases=$((cases + 1))
    "$inspect" --check "$1" > /dev/null 2> "$tmp/check.err" || { fail "$1 does not open:"; cat "$tmp/check.err"; }
}

# same A B: the same tensors, bytes and metadata.
same() {
    cases=$((cases + 1))
    "$inspect" --diff "$1" "$2" > "$tmp/diff.out" 2>&1 || { fail "$1 and $2 differ:"; head -20 "$tmp/diff.out"; }
}

# identical A B: the same bytes.
identical() {
    cases=$((cases + 1))
    cmp -s "$1" "$2" || fail "$1 and $2 are not byte-identical"
}

# dtypes PATH: the dtypes of its tensors, sorted and counted.
dtypes() {
    "$inspect" --json "$1" | tr '{' '\n' | sed -n 's/.*"dtype":"\([A-Z0-9_]*\)".*/\1/p' | sort | uniq -c | tr -s ' '
}

# Every float dtype from F32 and back: each output opens, keeps the
# metadata and the shapes, and has only that dtype.
for d in F16 BF16 F64 F8_E4M3 F8_E5M2 F8_E4M3FNUZ F8_E5M2FNUZ F8_E8M0 F6_E2M3 F6_E3M2 F4; do
    run --dtype $d "$gpt2" "$tmp/gpt2-$d.safetensors"
    opens "$tmp/gpt2-$d.safetensors"
    cases=$((cases + 1))
    [ "$(dtypes "$tmp/gpt2-$d.safetensors")" = " 28 $d" ] || fail "gpt2 as $d: dtypes are $(dtypes "$tmp/gpt2-$d.safetensors")"
    run --dtype F32 "$tmp/gpt2-$d.safetensors" "$tmp/gpt2-$d-back.safetensors"
    opens "$tmp/gpt2-$d-back.safetensors"
done
# F32 holds every BF16, F16 and F64-from-F32 value: to F32 and back is
# the identity, byte for byte.
for d in BF16 F16 F8_E4M3 F4; do
    run --dtype $d "$tmp/gpt2-$d-back.safetensors" "$tmp/gpt2-$d-again.safetensors"
    identical "$tmp/gpt2-$d.safetensors" "$tmp/gpt2-$d-again.safetensors"
done
run --dtype F32 "$tmp/gpt2-F64.safetensors" "$tmp/gpt2-F64-F32.safetensors"
identical "$gpt2" "$tmp/gpt2-F64-F32.safetensors"
# No option, and a conversion to the dtype a file already has: the file.
run "$gpt2" "$tmp/gpt2-copy.safetensors"
identical "$gpt2" "$tmp/gpt2-copy.safetensors"
run --dtype F32 "$gpt2" "$tmp/gpt2-f32.safetensors"
identical "$gpt2" "$tmp/gpt2-f32.safetensors"

# The sharded BF16 model: to F32 (a sharded IN gives a folder), back to
# BF16: the same tensors and bytes as the original.
run --dtype F32 "$llama" "$tmp/llama-f32"
opens "$tmp/llama-f32"
cases=$((cases + 1))
[ "$(dtypes "$tmp/llama-f32")" = " 30 F32" ] || fail "llama as F32: dtypes are $(dtypes "$tmp/llama-f32")"
run --dtype BF16 --max-shard-size 90368 "$tmp/llama-f32" "$tmp/llama-bf16"
opens "$tmp/llama-bf16"
cases=$((cases + 1))
[ "$(ls "$tmp/llama-bf16" | grep -c '^model-000[0-9][0-9]-of-000[0-9][0-9]\.safetensors$')" -ge 2 ] ||
    fail "llama-bf16 is not sharded: $(ls "$tmp/llama-bf16")"
same "$llama/model.safetensors.index.json" "$tmp/llama-bf16/model.safetensors.index.json"
# the index's metadata block is the one transformers wrote for the same tensors
cases=$((cases + 1))
head -5 "$llama/model.safetensors.index.json" > "$tmp/want-head"
head -5 "$tmp/llama-bf16/model.safetensors.index.json" > "$tmp/got-head"
cmp -s "$tmp/want-head" "$tmp/got-head" || fail "the index's metadata differ from transformers'"
# and the whole index is json.dumps(indent=2, sort_keys=True) + "\n" of itself
if command -v python3 > /dev/null; then
    cases=$((cases + 1))
    python3 -c 'import json, sys
t = open(sys.argv[1], encoding="utf-8").read()
sys.exit(t != json.dumps(json.loads(t), indent=2, sort_keys=True) + "\n")' "$tmp/llama-bf16/model.safetensors.index.json" \
        || fail "the index is not laid out as json.dumps(indent=2, sort_keys=True) lays it out"
fi

# Unshard, and shard a single file: the tensors, bytes and metadata stay.
run "$llama" "$tmp/llama.safetensors"
opens "$tmp/llama.safetensors"
same "$llama" "$tmp/llama.safetensors"
run --max-shard-size 100kB "$gpt2" "$tmp/gpt2-shards"
opens "$tmp/gpt2-shards"
same "$gpt2" "$tmp/gpt2-shards"
run "$tmp/gpt2-shards" "$tmp/gpt2-joined.safetensors"
identical "$gpt2" "$tmp/gpt2-joined.safetensors"

# --only and --align
run --only 'transformer.h.0.*' --only '*.wte.*' "$gpt2" "$tmp/gpt2-only.safetensors"
cases=$((cases + 1))
[ "$(dtypes "$tmp/gpt2-only.safetensors")" = " 13 F32" ] || fail "--only kept $(dtypes "$tmp/gpt2-only.safetensors")"
run --align 4096 "$gpt2" "$tmp/gpt2-4k.safetensors"
cases=$((cases + 1))
"$inspect" --json "$tmp/gpt2-4k.safetensors" | grep -q '"data_start":4096,' || fail "--align 4096: data do not start at 4096"
same "$gpt2" "$tmp/gpt2-4k.safetensors"

# Refusals: usage errors give 2; an error gives 1 and leaves nothing.
for args in "" "$gpt2" "--dtype I32 $gpt2 $tmp/x.safetensors" "--dtype F99 $gpt2 $tmp/x.safetensors" \
            "--max-shard-size 0 $gpt2 $tmp/x" "--max-shard-size 5XB $gpt2 $tmp/x" "--bogus $gpt2 $tmp/x"; do
    cases=$((cases + 1))
    # shellcheck disable=SC2086
    "$convert" $args > /dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "convert $args: exit $rc, expected 2"
done
cases=$((cases + 1))
"$convert" tests/conformance/files/edge_len_past_eof.safetensors "$tmp/bad.safetensors" > /dev/null 2>&1
[ $? -eq 1 ] || fail "a refused IN: exit status is not 1"
cases=$((cases + 1))
"$convert" --dtype F4 tests/conformance/files/torch_mixed.safetensors "$tmp/odd.safetensors" > /dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && [ ! -e "$tmp/odd.safetensors" ] || fail "F4 of odd element counts: exit $rc, or a file was left"
cases=$((cases + 1))
[ -z "$(find "$tmp" -name '*.tmp-*')" ] || fail "temporary files were left: $(find "$tmp" -name '*.tmp-*')"

echo "test-convert-tool: $((cases - failed)) passed, $failed failed"
[ $failed -eq 0 ]
