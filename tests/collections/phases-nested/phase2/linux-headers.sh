#!/bin/bash
set -e
cd $LFS/sources
tar xf linux-*.tar.xz
cd linux-*/
make mrproper
make headers
find usr/include -type f ! -name '*.h' -delete
cp -rv usr/include $LFS/usr
cd $LFS/sources && rm -rf linux-*/
