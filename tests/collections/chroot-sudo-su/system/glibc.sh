#!/bin/bash
set -e
PKG=glibc-2.38
cd /sources
tar -xf $PKG.tar.xz
cd $PKG
patch -Np1 -i ../glibc-2.38-fhs-1.patch
mkdir -v build && cd build
echo "rootsbindir=/usr/sbin" > configparms
../configure --prefix=/usr --disable-werror --enable-kernel=4.14 \
             --enable-stack-protector=strong --with-headers=/usr/include libc_cv_slibdir=/usr/lib
make
touch /etc/ld.so.conf
make install
cd /sources && rm -rf $PKG
