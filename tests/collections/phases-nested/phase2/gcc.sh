#!/bin/bash
set -e
cd $LFS/sources
tar xf gcc-*.tar.xz
cd gcc-*/
for dep in mpfr gmp mpc; do
    tar -xf ../$dep-*.tar.* && mv -v $dep-*/ $dep
done
mkdir -v build && cd build
../configure --target=$LFS_TGT --prefix=$LFS/tools --with-glibc-version=2.38 \
    --with-sysroot=$LFS --with-newlib --without-headers --disable-nls --disable-shared \
    --disable-multilib --disable-threads --disable-libstdcxx --enable-languages=c,c++
make
make install
cd $LFS/sources && rm -rf gcc-*/
