#!/bin/sh
# readme_check.sh [README] - the README's C code is the examples' code.
#
# A C block in the README opens with a fence that names its file,
#     ```c examples/readme_quickstart.c
# and must equal that file byte for byte; `make test-examples` compiles and
# runs each of them. Fails on a C block that names no file (its code would
# go untested), on one that differs from its file, and on an
# examples/readme_*.c that the README does not show. Run from the
# repository root.
set -u
readme=${1:-README.md}
tmp=${TMPDIR:-/tmp}/readme_check.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# Each ```c PATH block goes to $tmp/N, and its PATH to $tmp/N.path; a ```c
# block without a path is reported here with its line number.
awk -v tmp="$tmp" '
    in_block && /^```[ \t]*$/ { in_block = 0; close(out); next }
    in_block { print > out; next }
    /^```c([ \t]|$)/ {
        in_block = 1
        path = $2
        n++
        out = tmp "/" n
        printf "" > out
        if (path == "") { print "README line " NR ": a C block that names no file"; bad = 1 }
        else print path > (out ".path")
        close(out ".path")
        next
    }
    END { exit bad }' "$readme"
status=$?

shown=
for f in "$tmp"/*.path; do
    [ -e "$f" ] || continue
    path=$(cat "$f")
    block=${f%.path}
    shown="$shown $path "
    if [ ! -f "$path" ]; then
        echo "$readme shows $path, which does not exist"
        status=1
    elif ! diff -u "$path" "$block" > "$tmp/diff"; then
        echo "$readme differs from $path (- the file, + the README):"
        cat "$tmp/diff"
        status=1
    fi
done
for path in examples/readme_*.c; do
    [ -e "$path" ] || continue
    case $shown in
    *" $path "*) ;;
    *) echo "$path is not shown in $readme"; status=1 ;;
    esac
done
[ "$status" -eq 0 ] && echo "readme-check: every C block of $readme is its examples/ file"
exit "$status"
