#!/bin/sh
# check-exports.sh CC LIBRARY [SONAME]
#
# The shared library must export exactly the functions that safetensors.h
# declares with SAFETENSORS_API, as CC sees the header (so that platform
# conditionals count), and nothing else: a missing one breaks programs, an
# extra one becomes ABI that nobody meant to promise. LIBRARY is an ELF
# shared object (nm -D; SONAME, when given, is checked too) or a Windows
# DLL (its export table, through OBJDUMP, by default CC with gcc replaced
# by objdump). Run from the repository root.
set -eu
cc=$1 lib=$2 soname=${3-}
tmp=${TMPDIR:-/tmp}/check-exports.$$
trap 'rm -f "$tmp".*' EXIT

# The marker replaces SAFETENSORS_API, so each declaration can be found in
# the preprocessed API half whatever the linkage macros would expand to.
$cc -E -P -DSAFETENSORS_API=SAFETENSORS_EXPORT_MARK -x c safetensors.h |
    tr '\n' ' ' | grep -o 'SAFETENSORS_EXPORT_MARK[^;(]*(' |
    sed 's/^.*[^A-Za-z0-9_]\([A-Za-z0-9_]*\) *($/\1/' | sort > "$tmp.declared"

case $lib in
*.dll)
    objdump=${OBJDUMP:-$(echo "$cc" | sed 's/gcc$/objdump/')}
    $objdump -p "$lib" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
        sed -n 's/^[[:space:]]*\[ *[0-9]*\] \(.*\)$/\1/p' | sort > "$tmp.exported" ;;
*)
    nm -D --defined-only "$lib" | awk '{ print $NF }' | sort > "$tmp.exported"
    if [ -n "$soname" ]; then
        got=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
        if [ "$got" != "$soname" ]; then
            echo "check-exports: $lib has SONAME '$got', expected '$soname'"; exit 1
        fi
    fi ;;
esac

if ! [ -s "$tmp.declared" ]; then echo "check-exports: no SAFETENSORS_API declaration found"; exit 1; fi
if ! diff "$tmp.declared" "$tmp.exported" > "$tmp.diff"; then
    echo "check-exports: $lib does not export exactly the API ('<' declared only, '>' exported only):"
    cat "$tmp.diff"
    exit 1
fi
echo "check-exports: $lib exports the $(wc -l < "$tmp.exported") functions the header declares, and nothing else${soname:+; SONAME $soname}"
