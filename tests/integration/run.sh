#!/bin/sh
# run.sh BUILD_DIR VERSION - make test-integration: builds the throwaway
# consumer projects beside this file, each a copy in BUILD_DIR/integration
# with consumer.c, the way a new user would:
#   1. pkg-config with plain make, against a staged make install
#   2. CMake find_package, against the same staged make install
#   3. CMake find_package and pkg-config, against a staged CMake install of
#      this tree (the shared library and the tools built by CMake)
#   4. CMake add_subdirectory of this tree
#   5. a Meson subproject of this tree
# then checks that make uninstall leaves nothing behind. Every consumer
# opens the tiny GPT-2 and checks one tensor, both with the implementation
# compiled in and linked against libsafetensors. Needs cmake, meson, ninja
# and pkg-config. Run from the repository root.
set -eu
root=$(pwd)
out=$root/$1/integration
version=$2
major=${version%%.*} minor=$(echo "$version" | cut -d. -f2)
make=${MAKE:-make}
model=$root/tests/models/tiny-gpt2/model.safetensors
prefix=/opt/safetensors-h
ncheck=0

for tool in cmake meson ninja pkg-config; do
    command -v $tool > /dev/null || { echo "test-integration needs $tool (apt-get install cmake meson ninja-build pkg-config)"; exit 1; }
done

step() { printf '\n== %s\n' "$*"; }
fail() { echo "test-integration: $*"; exit 1; }

# A fresh copy of consumer project $1 in $out/$1, with what they all share.
project() {
    rm -rf "$out/$1"
    cp -R "$root/tests/integration/$1" "$out/$1"
    cp "$root/tests/integration/consumer.c" "$root/tests/integration/consumers.cmake" "$out/$1/"
}

# Runs each consumer binary given on the model; each must say ok.
run() {
    for exe in "$@"; do
        printf '%s: ' "${exe#$out/}"
        "$exe" "$model" || fail "${exe#$out/} failed"
        ncheck=$((ncheck + 1))
    done
}

cmake_build() { # source dir, build dir, configure options...
    src=$1 bld=$2
    shift 2
    cmake -S "$src" -B "$bld" -Werror=dev "$@" > "$bld.log" 2>&1 || { cat "$bld.log"; fail "cmake configure of $src failed"; }
    cmake --build "$bld" -j 2 >> "$bld.log" 2>&1 || { cat "$bld.log"; fail "cmake build of $src failed"; }
}

# Checks the .pc in staging tree $1 (its files under $1$prefix).
check_pkgconfig() {
    stage=$1
    pc() { echo $(PKG_CONFIG_PATH=$stage$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage pkg-config "$@" safetensors); }
    v=$(pc --modversion) libs=$(pc --libs) cflags=$(pc --cflags)
    [ "$v" = "$version" ] || fail "pkg-config --modversion gives '$v', expected $version"
    [ "$libs" = "-L$stage$prefix/lib -lsafetensors" ] || fail "pkg-config --libs gives '$libs'"
    [ "$cflags" = "-I$stage$prefix/include" ] || fail "pkg-config --cflags gives '$cflags'"
    grep -qx "prefix=$prefix" "$stage$prefix/lib/pkgconfig/safetensors.pc" || fail "safetensors.pc does not name prefix $prefix"
    echo "pkg-config: $v, $cflags, $libs"
}

rm -rf "$out"
mkdir -p "$out"

step "make install DESTDIR=$out/stage PREFIX=$prefix"
$make --no-print-directory install DESTDIR="$out/stage" PREFIX="$prefix" > "$out/make-install.log" 2>&1 \
    || { cat "$out/make-install.log"; fail "make install failed"; }
(cd "$out/stage" && find . ! -type d | sort | sed 's|^\./|  |')
for f in include/safetensors.h include/safetensors.hpp lib/libsafetensors.so.$version lib/libsafetensors.so.$major \
         lib/libsafetensors.so lib/pkgconfig/safetensors.pc lib/cmake/safetensors/safetensorsConfig.cmake \
         lib/cmake/safetensors/safetensorsConfigVersion.cmake lib/cmake/safetensors/safetensorsTargets.cmake \
         bin/safetensors-inspect bin/safetensors-convert; do
    [ -e "$out/stage$prefix/$f" ] || fail "make install did not install $f"
done
"$out/stage$prefix/bin/safetensors-inspect" "$model" > /dev/null || fail "the installed inspector fails"

step "1. pkg-config with plain make (make install)"
check_pkgconfig "$out/stage"
project pkgconfig
PKG_CONFIG_PATH=$out/stage$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$out/stage \
    $make --no-print-directory -C "$out/pkgconfig" > "$out/pkgconfig.log" 2>&1 || { cat "$out/pkgconfig.log"; fail "pkg-config consumer did not build"; }
LD_LIBRARY_PATH=$out/stage$prefix/lib run "$out/pkgconfig/consumer"

step "2. CMake find_package (make install)"
project cmake-find
cmake_build "$out/cmake-find" "$out/cmake-find/build" -DCMAKE_PREFIX_PATH="$out/stage$prefix"
run "$out/cmake-find/build/consumer_header" "$out/cmake-find/build/consumer_shared"
# The version file: a later major, or a later minor, must be refused.
too_new="$((major + 1)).0 $major.$((minor + 1))"
for want in $too_new; do
    wd=$(echo "$want" | tr . _)
    mkdir -p "$out/version-$wd"
    printf 'cmake_minimum_required(VERSION 3.14)\nproject(v LANGUAGES C)\nfind_package(safetensors %s CONFIG REQUIRED)\n' "$want" \
        > "$out/version-$wd/CMakeLists.txt"
    if cmake -S "$out/version-$wd" -B "$out/version-$wd/build" -DCMAKE_PREFIX_PATH="$out/stage$prefix" \
            > "$out/version-$wd.log" 2>&1; then
        fail "find_package(safetensors $want) accepted version $version"
    fi
done
echo "find_package(safetensors VERSION) refuses $version for each VERSION in: $too_new"

step "3. CMake install of this tree, then find_package and pkg-config against it"
cmake_build "$root" "$out/cmake-top" -DSAFETENSORS_BUILD_SHARED=ON -DSAFETENSORS_BUILD_TOOLS=ON \
    -DCMAKE_INSTALL_PREFIX=/usr/local -DCMAKE_INSTALL_LIBDIR=lib
DESTDIR=$out/stage-cmake cmake --install "$out/cmake-top" --prefix "$prefix" > "$out/cmake-install.log" 2>&1 \
    || { cat "$out/cmake-install.log"; fail "cmake --install failed"; }
(cd "$out/stage-cmake" && find . ! -type d | sort | sed 's|^\./|  |')
"$out/stage-cmake$prefix/bin/safetensors-inspect" "$model" > /dev/null || fail "the CMake-built inspector fails"
objdump -p "$out/stage-cmake$prefix/lib/libsafetensors.so.$version" | grep -q "SONAME *libsafetensors.so.$major$" \
    || fail "the CMake-built library lacks SONAME libsafetensors.so.$major"
sh "$root/packaging/check-exports.sh" cc "$out/stage-cmake$prefix/lib/libsafetensors.so.$version"
check_pkgconfig "$out/stage-cmake"
project cmake-find
mv "$out/cmake-find" "$out/cmake-find-cmake"
cmake_build "$out/cmake-find-cmake" "$out/cmake-find-cmake/build" -DCMAKE_PREFIX_PATH="$out/stage-cmake$prefix"
run "$out/cmake-find-cmake/build/consumer_header" "$out/cmake-find-cmake/build/consumer_shared"

step "4. CMake add_subdirectory"
project cmake-subdir
cmake_build "$out/cmake-subdir" "$out/cmake-subdir/build" -DSAFETENSORS_SOURCE_DIR="$root"
run "$out/cmake-subdir/build/consumer_header" "$out/cmake-subdir/build/consumer_shared"

step "5. Meson subproject"
project meson-subproject
mkdir -p "$out/meson-subproject/subprojects"
ln -s "$root" "$out/meson-subproject/subprojects/safetensors"
(cd "$out/meson-subproject" && meson setup --fatal-meson-warnings build > ../meson.log 2>&1 && ninja -C build -j 2 >> ../meson.log 2>&1) \
    || { cat "$out/meson.log"; fail "the Meson consumer did not build"; }
run "$out/meson-subproject/build/consumer_header" "$out/meson-subproject/build/consumer_shared"

step "make uninstall DESTDIR=$out/stage PREFIX=$prefix"
$make --no-print-directory uninstall DESTDIR="$out/stage" PREFIX="$prefix" > "$out/make-uninstall.log" 2>&1 \
    || { cat "$out/make-uninstall.log"; fail "make uninstall failed"; }
left=$(cd "$out/stage" && find . ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "nothing left"

echo
echo "test-integration: $ncheck consumer programs built and passed (pkg-config, CMake find_package x2, add_subdirectory, Meson)"
