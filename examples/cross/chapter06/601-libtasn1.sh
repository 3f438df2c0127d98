#!/bin/bash
# lfsplug: phase=temp version=4.19.0 provides=libtasn1 unpack=libtasn1-4.19.0.tar.gz sbu=0.3
# A library and the programs linked against it (asn1Parser, asn1Coding, asn1Decoding), built
# with a plain configure: the cross plugin's CONFIG_SITE gives it --host and --build, and $CC
# the target's compiler.
set -e
./configure --prefix=/usr --disable-static --disable-doc
make
make DESTDIR="$LFS" install
