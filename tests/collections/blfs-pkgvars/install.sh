#!/bin/bash
# install.sh: build the packages of packages.lst in order (as root, in the LFS system)
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/packages.sh"
export SOURCES=${SOURCES:-/sources}
export BUILD_DIR=${BUILD_DIR:-$SOURCES/build}
export MAKEFLAGS=-j2
mkdir -p "$BUILD_DIR"

while read -r script var _; do
    [[ -z $script || $script == \#* ]] && continue
    tarball=$(basename "${!var}")
    dir=${tarball%.tar.*}
    echo ">>> $script ($tarball)"
    tar -xf "$SOURCES/$tarball" -C "$BUILD_DIR"
    pushd "$BUILD_DIR/$dir" > /dev/null
    bash "$HERE/scripts/$script.sh" < /dev/null
    popd > /dev/null
    rm -rf "${BUILD_DIR:?}/$dir"
done < "$HERE/packages.lst"
