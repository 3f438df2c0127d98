#!/bin/bash
set -e
tar xf binutils-*.tar.xz
cd binutils-*/
mkdir -v build && cd build
../configure --prefix=/usr --sysconfdir=/etc --enable-gold --enable-ld=default \
             --enable-plugins --enable-shared --disable-werror --enable-64-bit-bfd \
             --with-system-zlib
make tooldir=/usr
make tooldir=/usr install
cd ../.. && rm -rf binutils-*/
