#!/bin/bash
set -e
PKG=gcc-13.2.0
cd /sources
tar -xf $PKG.tar.xz
cd $PKG
mkdir -v build && cd build
../configure --prefix=/usr LD=ld --enable-languages=c,c++ --enable-default-pie \
             --enable-default-ssp --disable-multilib --disable-bootstrap --with-system-zlib
make
make install
cd /sources && rm -rf $PKG
