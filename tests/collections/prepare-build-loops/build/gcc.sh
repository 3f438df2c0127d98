#!/bin/bash
set -e
PACKAGE=gcc-13.2.0
cd $LFS/sources
tar xf $PACKAGE.tar.xz
cd $PACKAGE
tar -xf ../mpfr-4.2.0.tar.xz && mv -v mpfr-4.2.0 mpfr
tar -xf ../gmp-6.3.0.tar.xz && mv -v gmp-6.3.0 gmp
tar -xf ../mpc-1.3.1.tar.gz && mv -v mpc-1.3.1 mpc
mkdir -v build && cd build
../configure --target=$LFS_TGT --prefix=$LFS/tools --with-glibc-version=2.38 \
    --with-sysroot=$LFS --with-newlib --without-headers --disable-nls --disable-shared \
    --disable-multilib --disable-threads --disable-libstdcxx --enable-languages=c,c++
make
make install
cd $LFS/sources && rm -rf $PACKAGE
