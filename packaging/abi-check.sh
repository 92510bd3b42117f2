#!/bin/sh
# abi-check.sh BASELINE CURRENT SUPPRESSIONS
#
# Compares two abidw dumps of libsafetensors. Functions added since the
# baseline are compatible and only reported; anything else abidiff sees
# (a function removed, a parameter or a public struct changed, a dtype or
# result code renumbered) fails. The suppressions hide what the API does
# not promise: the layout of opaque handles, the growing _COUNT values.
set -u
baseline=$1 current=$2 suppr=$3
report=${current%.abi}.diff

abidiff --suppressions "$suppr" --no-added-syms "$baseline" "$current" > "$report" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    cat "$report"
    echo "abi-check: FAILED (abidiff status $rc): the library is not compatible with $baseline."
    echo "  An intentional break: make abi-update, and commit the new baseline with a CHANGELOG line."
    exit 1
fi
abidiff --suppressions "$suppr" "$baseline" "$current" > "$report" 2>&1
added=$(sed -n 's/.* \([0-9][0-9]*\) Added functions*$/\1/p' "$report" | head -n 1)
if [ "${added:-0}" != 0 ]; then
    sed -n '/Added function/,$p' "$report" | sed -n '2,$p'
    echo "abi-check: compatible with $baseline, $added function(s) added (make abi-update records them)"
else
    echo "abi-check: compatible with $baseline, no function added"
fi
