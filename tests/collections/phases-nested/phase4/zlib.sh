#!/bin/bash
set -e
tar xf zlib-*.tar.xz
cd zlib-*/
./configure --prefix=/usr
make
make install
rm -fv /usr/lib/libz.a
cd .. && rm -rf zlib-*/
