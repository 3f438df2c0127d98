#!/bin/bash
# lfsplug: phase=temp version=4.19.0 provides=libtasn1 unpack=libtasn1-4.19.0.tar.gz sbu=0.3
# A library the system's tasn1-demo links against (built earlier in the same tree).
set -e
./configure --prefix=/usr --disable-static --disable-doc
make
if [ "$MINI_LFS_CHECK" = yes ]; then make check; fi
make DESTDIR="$LFS" install
