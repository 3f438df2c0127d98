#!/bin/bash
set -e
cd $LFS/sources
tar xf binutils-*.tar.xz
cd binutils-*/
mkdir -v build && cd build
../configure --prefix=$LFS/tools --with-sysroot=$LFS --target=$LFS_TGT \
             --disable-nls --enable-gprofng=no --disable-werror
make
make install
cd $LFS/sources && rm -rf binutils-*/
