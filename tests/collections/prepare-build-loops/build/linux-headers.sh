#!/bin/bash
set -e
PACKAGE=linux-6.4.12
cd $LFS/sources
tar xf $PACKAGE.tar.xz
cd $PACKAGE
make mrproper
make headers
find usr/include -type f ! -name '*.h' -delete
cp -rv usr/include $LFS/usr
cd $LFS/sources && rm -rf $PACKAGE
