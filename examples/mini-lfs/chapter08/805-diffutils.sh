#!/bin/bash
# lfsplug: phase=system version=3.8 provides=diffutils unpack=diffutils-3.8.tar.xz sbu=0.5
# Chapter 8: configure, make, the package's own test suite, install into $LFS with DESTDIR.
set -e
./configure --prefix=/usr --disable-nls
make
if [ "$MINI_LFS_CHECK" = yes ]; then make check; fi
make DESTDIR="$LFS" install
