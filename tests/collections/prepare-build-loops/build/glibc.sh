#!/bin/bash
set -e
PACKAGE=glibc-2.38
cd $LFS/sources
tar xf $PACKAGE.tar.xz
cd $PACKAGE
mkdir -v build && cd build
echo "rootsbindir=/usr/sbin" > configparms
../configure --prefix=/usr --host=$LFS_TGT --build=$(../scripts/config.guess) \
      --enable-kernel=4.14 --with-headers=$LFS/usr/include libc_cv_slibdir=/usr/lib
make
make DESTDIR=$LFS install
cd $LFS/sources && rm -rf $PACKAGE
