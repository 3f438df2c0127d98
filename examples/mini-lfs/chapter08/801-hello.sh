#!/bin/bash
# lfsplug: phase=system version=2.10 provides=hello unpack=hello-2.10.tar.gz sbu=0.2
# Chapter 8: configure, make, the package's own test suite, install into $LFS with DESTDIR.
set -e
./configure --prefix=/usr --disable-nls
make
if [ "$MINI_LFS_CHECK" = yes ]; then make check; fi
make DESTDIR="$LFS" install
