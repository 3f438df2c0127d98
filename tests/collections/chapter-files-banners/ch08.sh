#!/bin/bash
# Chapter 8. Installing Basic System Software (the part of it this build needs)
set -e
cd /sources

# 8.3. Man-pages-6.05.01
tar -xf man-pages-6.05.01.tar.xz
pushd man-pages-6.05.01
rm -v man3/crypt*
make prefix=/usr install
popd
rm -rf man-pages-6.05.01

# 8.5. Glibc-2.38
tar -xf glibc-2.38.tar.xz
pushd glibc-2.38
mkdir -v build && cd build
echo "rootsbindir=/usr/sbin" > configparms
../configure --prefix=/usr --disable-werror --enable-kernel=4.14 \
             --enable-stack-protector=strong --with-headers=/usr/include libc_cv_slibdir=/usr/lib
make
touch /etc/ld.so.conf
make install
popd
rm -rf glibc-2.38

# 8.6. Zlib-1.2.13
tar -xf zlib-1.2.13.tar.xz
pushd zlib-1.2.13
./configure --prefix=/usr
make
make install
rm -fv /usr/lib/libz.a
popd
rm -rf zlib-1.2.13

# 8.18. Binutils-2.41
tar -xf binutils-2.41.tar.xz
pushd binutils-2.41
mkdir -v build && cd build
../configure --prefix=/usr --sysconfdir=/etc --enable-gold --enable-ld=default \
             --enable-plugins --enable-shared --disable-werror --enable-64-bit-bfd \
             --with-system-zlib
make tooldir=/usr
make tooldir=/usr install
popd
rm -rf binutils-2.41

# 8.28. GCC-13.2.0
tar -xf gcc-13.2.0.tar.xz
pushd gcc-13.2.0
mkdir -v build && cd build
../configure --prefix=/usr LD=ld --enable-languages=c,c++ --enable-default-pie \
             --enable-default-ssp --disable-multilib --disable-bootstrap --with-system-zlib
make
make install
popd
rm -rf gcc-13.2.0
