#!/bin/sh
# inspect_corpus.sh - runs `safetensors-inspect --json` over the whole
# conformance corpus and the sample checkpoints, in batches (a Windows command
# line holds at most 32767 characters), and writes the output of every batch
# followed by a line with its exit status.
#
#   sh tests/inspect_corpus.sh [--check] OUT CMD...
#
# CMD... is the inspector, with a runner in front if it needs one:
#   sh tests/inspect_corpus.sh build/inspect-native.jsonl build/safetensors-inspect
#   sh tests/inspect_corpus.sh build/s390x/inspect.jsonl qemu-s390x build/s390x/safetensors-inspect
# Two platforms agree when their OUT files are byte-identical. Exit status 0
# or 1 (some file refused) is expected; anything else stops the script.
# With --check the inspector runs with --check instead of --json, and OUT
# holds one line per refused file (tests/inspect/run.sh compares them with
# the verdicts in tests/conformance/expected.tsv).
set -u
mode=--json
if [ "${1-}" = --check ]; then
    mode=--check
    shift
fi
if [ $# -lt 2 ]; then
    echo "usage: $0 [--check] OUT CMD..." >&2
    exit 2
fi
out=$1
shift
LC_ALL=C
export LC_ALL
batch=100
: > "$out" || exit 2
list=$(ls tests/conformance/files/*.safetensors tests/models/*/*.safetensors | sort)
set -f
n=0
args=
run() {
    # $args holds paths without spaces or glob characters (checked below)
    # shellcheck disable=SC2086
    "$@" $mode $args >> "$out"
    rc=$?
    echo "exit $rc" >> "$out"
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
        echo "inspect_corpus: '$* $mode ...' exited with $rc" >&2
        exit 1
    fi
}
for f in $list; do
    case $f in *[!A-Za-z0-9._/+-]*) echo "inspect_corpus: unexpected file name $f" >&2; exit 2 ;; esac
    args="$args $f"
    n=$((n + 1))
    if [ $n -eq $batch ]; then
        run "$@"
        n=0
        args=
    fi
done
if [ $n -gt 0 ]; then run "$@"; fi
if [ $mode = --json ]; then
    echo "inspect_corpus: $(grep -c '^{' "$out") JSON lines in $out"
else
    echo "inspect_corpus: $(grep -vc '^exit ' "$out") refused files in $out"
fi
