#!/bin/sh
# run.sh - every option of safetensors-inspect, on the bundled models, the
# conformance corpus and the fixtures here, against the expected outputs in
# tests/inspect/ (README.md there says how each was checked).
#
#   sh tests/inspect/run.sh INSPECT CONVERT TMPDIR
#
# INSPECT is the inspector, CONVERT build/safetensors-convert (with no
# option, it makes a byte-identical copy of a file through the writer), TMPDIR a scratch folder
# (emptied). Run from the top of the repository. Exit status 0 when every
# case passes.
set -u
if [ $# -ne 3 ]; then
    echo "usage: $0 INSPECT CONVERT TMPDIR" >&2
    exit 2
fi
inspect=$1
convert=$2
tmp=$3
here=tests/inspect
fixtures=$here/fixtures
gpt2=tests/models/tiny-gpt2/model.safetensors
llama=tests/models/tiny-llama-bf16-sharded
files=tests/conformance/files
mixed=$files/torch_mixed.safetensors
LC_ALL=C
export LC_ALL
rm -rf "$tmp" && mkdir -p "$tmp" || exit 2
cases=0
failed=0

fail() {
    echo "test-inspect: $*"
    failed=$((failed + 1))
}

# judge NAME STATUS RC: the outputs in $tmp/NAME.out and .err (with $tmp
# written as TMP) must be $here/NAME.out and .err, an absent file meaning
# empty, and RC must be STATUS.
judge() {
    cases=$((cases + 1))
    for stream in out err; do
        sed "s|$tmp/|TMP/|g" "$tmp/$1.$stream" > "$tmp/$1.$stream.seen"
        if [ -f "$here/$1.$stream" ]; then
            cmp -s "$here/$1.$stream" "$tmp/$1.$stream.seen" && continue
            fail "$1: std$stream differs from $here/$1.$stream:"
            diff "$here/$1.$stream" "$tmp/$1.$stream.seen" | head -20
        elif [ -s "$tmp/$1.$stream.seen" ]; then
            fail "$1: unexpected std$stream:"
            head -20 "$tmp/$1.$stream.seen"
        fi
    done
    [ "$3" -eq "$2" ] || fail "$1: exit status $3, expected $2"
}

# expect NAME STATUS ARGS...: the inspector with ARGS, stdin empty.
expect() {
    name=$1
    status=$2
    shift 2
    "$inspect" "$@" < /dev/null > "$tmp/$name.out" 2> "$tmp/$name.err"
    judge "$name" "$status" $?
}

# expect_in INPUT NAME STATUS ARGS...: the same with INPUT on stdin.
expect_in() {
    input=$1
    name=$2
    status=$3
    shift 3
    "$inspect" "$@" < "$input" > "$tmp/$name.out" 2> "$tmp/$name.err"
    judge "$name" "$status" $?
}

# expect_usage ARGS...: refused as a usage error (status 2), said on stderr.
expect_usage() {
    cases=$((cases + 1))
    "$inspect" "$@" < /dev/null > "$tmp/usage.out" 2> "$tmp/usage.err"
    rc=$?
    [ $rc -eq 2 ] || fail "'$*': exit status $rc, expected 2 (a usage error)"
    [ -s "$tmp/usage.out" ] && fail "'$*': a usage error printed on stdout"
    tail -n 1 "$tmp/usage.err" | grep -q "^Try 'safetensors-inspect --help'.$" || fail "'$*': no usage message"
}

# ---- the views --------------------------------------------------------------
expect gpt2 0 "$gpt2"
expect llama 0 "$llama"
expect mixed 0 "$mixed"
expect misaligned 0 "$fixtures/misaligned.safetensors"
expect gpt2-json 0 --json "$gpt2"
expect llama-json 0 --json "$llama"

# ---- --filter and --sort ----------------------------------------------------
expect filter 0 --filter '*.bias' --filter 'transformer.w[pt]e.*' "$gpt2"
expect filter-json 0 --json --filter 'transformer.h.?.ln_[!2].*' "$gpt2"
expect filter-none 0 --filter 'nothing*' "$gpt2"
expect sort-natural 0 --sort natural "$mixed"
expect sort-name 0 --sort=name --filter 'model.layers.1?.*' "$mixed"
expect sort-size 0 --sort size --filter '*.weight' "$gpt2"
expect sort-offset 0 --sort offset --filter '*proj*' "$llama"

# ---- --tree -----------------------------------------------------------------
expect tree-gpt2 0 --tree "$gpt2"
expect tree-llama 0 --tree --sort natural "$llama"
expect tree-mixed 0 --tree --sort natural "$mixed"

# ---- --stats and --values ---------------------------------------------------
expect stats-gpt2 0 --stats "$gpt2"
expect stats-llama 0 --stats --filter '*norm*' "$llama"
expect stats-special 0 --stats --values 8 "$fixtures/special.safetensors"
expect values-dtypes 0 --values 3 "$files"/torch_dtype_*.safetensors "$files/edge_f4_even.safetensors" \
    "$files/edge_f6_e2m3_4.safetensors"
expect values-json 0 --json --values 2 --filter 'transformer.ln_f.*' "$gpt2"
# Every number against tests/inspect/reference.tsv, computed by reference.py
# from the dtype definitions, without the inspector or the library.
cases=$((cases + 1))
"$inspect" --json --stats --values 4 $(cut -f1 "$here/reference.tsv" | uniq) > "$tmp/reference.jsonl" ||
    fail "--json --stats --values 4 over the reference files: exit status $?"
awk -f "$here/compare.awk" "$here/reference.tsv" "$tmp/reference.jsonl" > "$tmp/compare.txt" ||
    fail "--stats and --values differ from $here/reference.tsv: $(head -20 "$tmp/compare.txt")"

# ---- --check ----------------------------------------------------------------
expect check-ok 0 --check "$gpt2" "$llama" "$mixed"
printf 'GGUF\003\000\000\000\001\000\000\000\000\000\000\000' > "$tmp/model.gguf"
expect check-refused 1 --check "$gpt2" "$tmp/model.gguf" "$files/edge_len_past_eof.safetensors" "$llama/config.json"
# The whole corpus: exactly the files expected.tsv rejects are refused.
cases=$((cases + 1))
sh tests/inspect_corpus.sh --check "$tmp/corpus-check.txt" "$inspect" > /dev/null || fail "inspect_corpus.sh --check failed"
awk -F'\t' '$1 == "F" && $3 == "reject" { print "tests/conformance/files/" $2 }' tests/conformance/expected.tsv |
    sort > "$tmp/corpus-expected.txt"
grep -v '^exit ' "$tmp/corpus-check.txt" | sed 's/: error SAFETENSORS_ERR_.*//' | sort > "$tmp/corpus-refused.txt"
if ! cmp -s "$tmp/corpus-expected.txt" "$tmp/corpus-refused.txt"; then
    fail "--check over the corpus differs from expected.tsv's rejects (< expected, > refused):"
    diff "$tmp/corpus-expected.txt" "$tmp/corpus-refused.txt" | head -20
fi
[ "$(wc -l < "$tmp/corpus-expected.txt")" -gt 1000 ] || fail "expected.tsv lists too few rejects to be read right"

# ---- --diff -----------------------------------------------------------------
"$convert" "$gpt2" "$tmp/rewritten.safetensors" > /dev/null || fail "$convert $gpt2 failed"
expect diff-rewrite 0 --diff "$gpt2" "$tmp/rewritten.safetensors"
expect diff-model-index 0 --diff "$llama" "$llama/model.safetensors.index.json"
# One byte changed: data byte 868, byte 100 of transformer.h.0.attn.c_attn.weight
# (data 768..49920), so its element 25 of 64 x 192.
cp "$gpt2" "$tmp/one-byte.safetensors"
at=$((2632 + 868))
byte=$(od -An -tu1 -j $at -N1 "$gpt2" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 1)))" | dd of="$tmp/one-byte.safetensors" bs=1 seek=$at conv=notrunc 2> /dev/null
expect diff-byte 1 --diff "$gpt2" "$tmp/one-byte.safetensors"
expect diff-byte-json 1 --json --diff "$gpt2" "$tmp/one-byte.safetensors"
expect diff-shape 1 --diff "$fixtures/shape-a.safetensors" "$fixtures/shape-b.safetensors"
expect diff-dtype-json 1 --diff --json "$fixtures/shape-a.safetensors" "$fixtures/dtype-b.safetensors"
expect diff-subbyte 1 --diff "$fixtures/sub-a.safetensors" "$fixtures/sub-b.safetensors"
expect diff-models 1 --diff --filter 'transformer.ln_f.*' --filter '*.norm.*' "$gpt2" "$llama"
expect diff-refused 1 --diff "$gpt2" "$files/edge_len_past_eof.safetensors"

# ---- standard input ---------------------------------------------------------
# The same lines as for the file itself, under the name "-".
cases=$((cases + 1))
"$inspect" --json - < "$gpt2" > "$tmp/stdin.jsonl" || fail "--json - exited with $?"
sed "s|\"file\":\"$gpt2\"|\"file\":\"-\"|" "$here/gpt2-json.out" | cmp -s - "$tmp/stdin.jsonl" ||
    fail "--json - differs from gpt2-json.out"
cases=$((cases + 1))
"$inspect" - < "$gpt2" > "$tmp/stdin.txt" || fail "- exited with $?"
sed "1s|.*|-|" "$here/gpt2.out" | cmp -s - "$tmp/stdin.txt" || fail "- differs from gpt2.out"
# Redirected, every hand-made corpus case and one mutation in ten (among
# them headers that run past the end: mut_00166, mut_00236) gives the same
# line as the file opened by its path: the same verdict, code and offset.
cases=$((cases + 1))
set -- "$files"/edge_*.safetensors "$files"/mut_*6.safetensors
for f; do "$inspect" --json - < "$f"; done > "$tmp/stdin-corpus.jsonl" 2>&1
"$inspect" --json "$@" 2>&1 | sed 's|^{"file":"[^"]*"|{"file":"-"|' > "$tmp/path-corpus.jsonl"
if ! cmp -s "$tmp/path-corpus.jsonl" "$tmp/stdin-corpus.jsonl"; then
    fail "--json - < FILE differs from --json FILE (< by path, > from stdin):"
    diff "$tmp/path-corpus.jsonl" "$tmp/stdin-corpus.jsonl" | head -10
fi
# Cut short, it is refused as the same file cut short would be.
head -c 3000 "$gpt2" > "$tmp/cut.safetensors"
expect_in "$tmp/cut.safetensors" stdin-cut 1 -
expect cut 1 "$tmp/cut.safetensors"
expect_in "$tmp/model.gguf" stdin-gguf 1 -

# ---- what a refused file looks like ------------------------------------------
printf 'PK\003\004\024\000\000\000\010\000' > "$tmp/pytorch_model.bin"
printf '\200\002\212\012l\374\234F\371 j\250P\031.' > "$tmp/old.bin"
printf '{"architectures": ["GPT2LMHeadModel"]}\n' > "$tmp/config.safetensors"
printf 'a text file\n' > "$tmp/notes.txt"
printf '\211HDF\r\n\032\n\000\000\000\000' > "$tmp/model.h5"
printf '\223NUMPY\001\000v\000' > "$tmp/array.npy"
expect hints 1 "$tmp/model.gguf" "$tmp/pytorch_model.bin" "$tmp/old.bin" "$tmp/config.safetensors" \
    "$tmp/notes.txt" "$tmp/model.h5" "$tmp/array.npy" "$files/edge_len_past_eof.safetensors"
expect hints-json 1 --json "$tmp/model.gguf" "$tmp/notes.txt"

# ---- usage ------------------------------------------------------------------
expect usage 2
expect help 0 --help
cmp -s "$here/usage.out" "$here/help.out" || fail "the usage without arguments is not --help's"
expect_usage --json
expect_usage --bogus "$gpt2"
expect_usage --tree --json "$gpt2"
expect_usage --check --stats "$gpt2"
expect_usage --diff --values 2 "$gpt2" "$gpt2"
expect_usage --diff "$gpt2"
expect_usage --sort random "$gpt2"
expect_usage --values 0 "$gpt2"
expect_usage --values 1x "$gpt2"
expect_usage --filter
expect_usage --stats -
expect_usage - -

# ---- the manual covers every option -----------------------------------------
cases=$((cases + 1))
for opt in $(grep -o -- '--[a-z]*' "$here/help.out" | sort -u); do
    [ "$opt" = -- ] && continue
    grep -qF -- "\\-\\-${opt#--}" examples/safetensors-inspect.1 || fail "examples/safetensors-inspect.1 does not describe $opt"
done

if [ $failed -ne 0 ]; then
    echo "test-inspect: $failed of $cases cases failed"
    exit 1
fi
echo "test-inspect: $cases cases passed"
