#!/bin/bash
set -e
tar xf gcc-*.tar.xz
cd gcc-*/
sed -e '/m64=/s/lib64/lib/' -i.orig gcc/config/i386/t-linux64
mkdir -v build && cd build
../configure --prefix=/usr LD=ld --enable-languages=c,c++ --enable-default-pie \
             --enable-default-ssp --disable-multilib --disable-bootstrap \
             --disable-fixincludes --with-system-zlib
make
make install
ln -svr /usr/bin/cpp /usr/lib
cd ../.. && rm -rf gcc-*/
