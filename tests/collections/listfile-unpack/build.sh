#!/bin/bash
# build.sh: build every entry of build_order.txt, in order.
#
# An entry with a package: unpack $SOURCES/PACKAGE-*.tar.* into $LFS/build, run the script
# inside the unpacked directory, remove the directory. Without: run it in scripts/.
set -e
set -o pipefail
: "${LFS:?LFS is not set}"
export SOURCES=$LFS/sources
export LFSLOG=$LFS/var/log/lfs-build
BUILD=$LFS/build
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$LFSLOG" "$BUILD"

while read -r script pkg; do
    case $script in ''|'#'*) continue ;; esac
    echo "=== $script ${pkg:+($pkg)}"
    if [ -n "$pkg" ]; then
        tar xf "$SOURCES/$pkg"-*.tar.* -C "$BUILD"
        cd "$BUILD/$pkg"-*/
        bash "$HERE/scripts/$script.sh" </dev/null 2>&1 | tee "$LFSLOG/$script.log"
        cd "$HERE"
        rm -rf "${BUILD:?}/$pkg"-*/
    else
        cd "$HERE/scripts"
        bash "./$script.sh" </dev/null 2>&1 | tee "$LFSLOG/$script.log"
        cd "$HERE"
    fi
done < "$HERE/build_order.txt"
echo "build complete"
