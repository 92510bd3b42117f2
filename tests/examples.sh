#!/bin/sh
# examples.sh DIR NAME - runs one example program of DIR (the build folder)
# as the README shows it, on the bundled models, and checks what it prints.
# Run from the repository root; `make test-examples` runs every NAME.
#
# The expected values are facts of the bundled models, taken from their own
# files here (config.json, the index, the 8-byte length prefix), or follow
# from the examples' own code (the writers' shapes); none is the examples'
# output copied back.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 DIR NAME" >&2
    exit 2
fi
b=$1 name=$2
gpt2=tests/models/tiny-gpt2/model.safetensors
llama=tests/models/tiny-llama-bf16-sharded
out=$b/example-$name.out

fail() {
    echo "example $name: $*"
    cat "$out" 2> /dev/null
    exit 1
}
# run PROGRAM ARGS...: its standard output in $out
run() { "$@" > "$out" || fail "$* exited with status $?"; }
# expect LINE: a whole line of $out
expect() { grep -qxF -- "$1" "$out" || fail "no line \"$1\""; }
# expect_count N PATTERN: N lines of $out match the extended regex
expect_count() {
    n=$(grep -cE -- "$2" "$out")
    [ "$n" -eq "$1" ] || fail "$n lines match \"$2\", expected $1"
}
# json_int FILE KEY: an integer field of a small JSON file
json_int() { sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$1" | head -n 1; }

vocab=$(json_int tests/models/tiny-gpt2/config.json vocab_size)
embd=$(json_int tests/models/tiny-gpt2/config.json n_embd)

case $name in
quickstart)
    # tiny GPT-2: 28 F32 tensors, token embeddings of [vocab, n_embd]
    run "./$b/readme_quickstart"
    expect_count 28 ' F32 [0-9]+ bytes$'
    expect "transformer.wte.weight F32 $((vocab * embd * 4)) bytes"
    expect_count 1 '^first weights [^ ]+ [^ ]+ [^ ]+ [^ ]+$'
    expect "format = pt"
    ;;
stream)
    run "./$b/readme_stream" < $gpt2
    n=$(od -An -tu8 -N8 $gpt2 | tr -d ' ')
    size=$(wc -c < $gpt2)
    expect "28 tensors, 1 metadata, header $n bytes, data $((size - 8 - n)) bytes"
    ;;
sharded)
    run "./$b/readme_sharded"
    index=$llama/model.safetensors.index.json
    expect_count "$(grep -c '": "model-0000[0-9]-of-00004.safetensors"' $index)" ' model-0000[1-4]-of-00004\.safetensors$'
    hidden=$(json_int $llama/config.json hidden_size)
    lvocab=$(json_int $llama/config.json vocab_size)
    expect "lm_head.weight: BF16, $((lvocab * hidden * 2)) bytes"
    expect "total_size = $(json_int $index total_size)"
    expect "total_parameters = $(json_int $index total_parameters)"
    ;;
convert)
    run "./$b/readme_convert"
    expect_count 1 '^[^ ]+ is 0x[0-9a-f]{2} in F8_E4M3$'
    ;;
writer)
    # two [512, 512] tensors, F32 and BF16, then read back
    f=$b/readme_writer.safetensors
    rm -f "$f"
    run "./$b/readme_writer" "$f"
    expect "$f: $(wc -c < "$f") bytes"
    run "./$b/readme_quickstart" "$f"
    expect "w1 F32 $((512 * 512 * 4)) bytes"
    expect "w2 BF16 $((512 * 512 * 2)) bytes"
    expect "format = pt"
    rm -f "$f"
    ;;
one_call)
    f=$b/readme_one_call.safetensors
    rm -f "$f"
    run "./$b/readme_one_call" "$f"
    expect_count 1 "^$f and [0-9]+ bytes in memory\$"
    run "./$b/readme_quickstart" "$f"
    expect "w F32 24 bytes"
    expect "format = pt"
    rm -f "$f"
    ;;
f32_to_bf16)
    # safetensors-convert --dtype BF16, which replaced convert_f32_to_bf16:
    # every tensor of tiny GPT-2 is F32, all become BF16, half the bytes
    f=$b/convert_f32_to_bf16.safetensors
    rm -f "$f"
    run "./$b/safetensors-convert" --dtype BF16 $gpt2 "$f"
    run "./$b/readme_quickstart" "$f"
    expect_count 28 ' BF16 [0-9]+ bytes$'
    expect "transformer.wte.weight BF16 $((vocab * embd * 2)) bytes"
    expect "format = pt"
    rm -f "$f"
    ;;
*)
    echo "examples.sh: no example $name" >&2
    exit 2
    ;;
esac
rm -f "$out"
echo "example $name: ok"
