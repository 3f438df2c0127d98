#!/bin/bash
set -e
PACKAGE=binutils-2.41
cd $LFS/sources
tar xf $PACKAGE.tar.xz
cd $PACKAGE
mkdir -v build && cd build
../configure --prefix=$LFS/tools --with-sysroot=$LFS --target=$LFS_TGT \
             --disable-nls --enable-gprofng=no --disable-werror
make
make install
cd $LFS/sources && rm -rf $PACKAGE
