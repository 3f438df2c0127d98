#!/bin/bash
# lfsplug: phase=cross version=2.10 unpack=hello-2.10.tar.gz
# Chapter 5 in miniature: a cross compiler builds GNU hello for another architecture, into
# $LFS/cross. Where no cross compiler is installed the stage says so and skips (exit 0).
set -e
target=${MINI_LFS_CROSS:-aarch64-linux-gnu}
if ! command -v "$target-gcc" >/dev/null; then
  echo "SKIPPED cross stage: no $target-gcc on this host (Debian: apt-get install gcc-$target)"
  exit 0
fi
./configure --prefix=/usr --host="$target" --build="$(build-aux/config.guess)" --disable-nls
make
make DESTDIR="$LFS/cross" install
file "$LFS/cross/usr/bin/hello" 2>/dev/null || true
echo "cross stage: built hello for $target into $LFS/cross"
