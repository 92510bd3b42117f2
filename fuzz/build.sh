#!/bin/bash
# fuzz/build.sh - builds the fuzz targets the way OSS-Fuzz builds a project.
#
# OSS-Fuzz runs its project's build.sh with the compilers and flags of the
# build it wants (engine x sanitizer) in the environment:
#   CC, CXX, CFLAGS, CXXFLAGS  compilers and the sanitizer/coverage flags
#   LIB_FUZZING_ENGINE         what links the engine: -fsanitize=fuzzer for
#                              libFuzzer, a static driver for AFL++/honggfuzz
#   OUT                        where the targets and their files go
#   SRC                        where the sources were checked out
#   WORK                       scratch space (optional here)
# The project's own build.sh there can be the one line
#   "$SRC/safetensors-h/fuzz/build.sh"
# with the repository checked out as $SRC/safetensors-h. `make fuzz-ossbuild`
# runs this script with SRC set to the repository itself and the local
# libFuzzer settings, so a change that breaks it fails at home first.
#
# For every target fuzz/fuzz_<t>.c it leaves in $OUT:
#   fuzz_<t>                   the target
#   fuzz_<t>.dict              the format's tokens (fuzz/safetensors.dict)
#   fuzz_<t>_seed_corpus.zip   fuzz/corpus/<t>/ and fuzz/regressions/<t>/
#                              (the inputs found worth keeping seed too)

set -eu

# SRC is the checkout itself for the local run, its parent on OSS-Fuzz.
if [ -f "$SRC/safetensors.h" ]; then
    root="$SRC"
else
    root="$SRC/safetensors-h"
fi
work="${WORK:-$(mktemp -d)}"

for target in open stream alloc model; do
    name="fuzz_$target"
    # Compiled as C, linked by the C++ driver: an engine given as a static
    # library (AFL++'s or honggfuzz's driver) needs the C++ runtime.
    $CC $CFLAGS -I"$root" -c "$root/fuzz/$name.c" -o "$work/$name.o"
    $CXX $CXXFLAGS "$work/$name.o" $LIB_FUZZING_ENGINE -o "$OUT/$name"

    cp "$root/fuzz/safetensors.dict" "$OUT/$name.dict"
    rm -f "$OUT/${name}_seed_corpus.zip"
    seeds=("$root/fuzz/corpus/$target"/*)
    if [ -d "$root/fuzz/regressions/$target" ]; then
        seeds+=("$root/fuzz/regressions/$target"/*)
    fi
    # -j: OSS-Fuzz reads the archive's files by name, folders are noise
    zip -q -j "$OUT/${name}_seed_corpus.zip" "${seeds[@]}"
done
