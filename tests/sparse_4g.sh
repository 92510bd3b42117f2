#!/bin/sh
# sparse_4g.sh - runs `test_portable --large4g` on a safetensors file whose
# data section is larger than 4 GiB, made sparse so that it costs no disk.
#
#   sh tests/sparse_4g.sh DIR CMD...
#
# DIR is where the file goes (created, and the file removed afterwards);
# CMD... is the test program, with a runner in front if it needs one, e.g.
#   sh tests/sparse_4g.sh build/m32/tmp build/m32/test_portable
#
# The file: two U8 tensors, "a" of 4294967301 bytes at [0, 4294967301) and
# "b" [2, 536870912] at [4294967301, 5368709125), so that b's offsets and the
# data size are above 4 GiB. The data is a hole but for four marker bytes:
# 'A' at a[0], 'B' at a[last], 'C' at b[0], 'D' at b[last]. A 32-bit build
# must open it with SAFETENSORS_HEADER_ONLY and refuse to map it with
# SAFETENSORS_ERR_TOO_LARGE; a 64-bit build must map it and see the markers.
# tests/test_portable.c (its large4g tests) holds the same numbers.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 DIR CMD..." >&2
    exit 2
fi
dir=$1
shift
mkdir -p "$dir"
file=$dir/sparse_4g.safetensors

# Sparse files still need a file system that allows 5 GiB files; a quick
# check of free space avoids filling a small disk where holes are not supported.
avail_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
if [ "${avail_kb:-0}" -lt $((6 * 1024 * 1024)) ]; then
    echo "sparse_4g: SKIPPED: only ${avail_kb:-?} KiB free in $dir, 6 GiB wanted"
    exit 0
fi

a_end=4294967301
b_end=5368709125
json='{"a":{"dtype":"U8","shape":[4294967301],"data_offsets":[0,4294967301]},"b":{"dtype":"U8","shape":[2,536870912],"data_offsets":[4294967301,5368709125]}}'
n=${#json}
data_start=$((8 + n))

cleanup() { rm -f "$file"; }
trap cleanup EXIT INT TERM

# 8-byte little-endian N, then the header
le64=
v=$n
for i in 1 2 3 4 5 6 7 8; do
    le64="$le64\\$(printf '%03o' $((v % 256)))"
    v=$((v / 256))
done
printf "$le64" > "$file"
printf '%s' "$json" >> "$file"

truncate -s $((data_start + b_end)) "$file"
mark() { printf "$2" | dd of="$file" bs=1 seek="$1" conv=notrunc status=none; }
mark $((data_start)) A
mark $((data_start + a_end - 1)) B
mark $((data_start + a_end)) C
mark $((data_start + b_end - 1)) D

size=$(wc -c < "$file")
used_kb=$(du -k "$file" | cut -f1)
echo "sparse_4g: $file, $size bytes ($used_kb KiB on disk)"
"$@" --large4g "$file"
