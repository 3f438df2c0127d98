#!/bin/bash
# Chapter 5. Compiling a Cross-Toolchain
set -e
cd $LFS/sources

# 5.2. Binutils-2.41 - Pass 1
tar -xf binutils-2.41.tar.xz
pushd binutils-2.41
mkdir -v build && cd build
../configure --prefix=$LFS/tools --with-sysroot=$LFS --target=$LFS_TGT --disable-nls \
             --enable-gprofng=no --disable-werror
make
make install
popd
rm -rf binutils-2.41

# 5.3. GCC-13.2.0 - Pass 1
tar -xf gcc-13.2.0.tar.xz
pushd gcc-13.2.0
tar -xf ../mpfr-4.2.0.tar.xz && mv -v mpfr-4.2.0 mpfr
tar -xf ../gmp-6.3.0.tar.xz && mv -v gmp-6.3.0 gmp
tar -xf ../mpc-1.3.1.tar.gz && mv -v mpc-1.3.1 mpc
mkdir -v build && cd build
../configure --target=$LFS_TGT --prefix=$LFS/tools --with-glibc-version=2.38 \
    --with-sysroot=$LFS --with-newlib --without-headers --disable-nls --disable-shared \
    --disable-multilib --disable-threads --disable-libstdcxx --enable-languages=c,c++
make
make install
popd
rm -rf gcc-13.2.0

# 5.4. Linux-6.4.12 API Headers
tar -xf linux-6.4.12.tar.xz
pushd linux-6.4.12
make mrproper
make headers
find usr/include -type f ! -name '*.h' -delete
cp -rv usr/include $LFS/usr
popd
rm -rf linux-6.4.12

# 5.5. Glibc-2.38
tar -xf glibc-2.38.tar.xz
pushd glibc-2.38
mkdir -v build && cd build
echo "rootsbindir=/usr/sbin" > configparms
../configure --prefix=/usr --host=$LFS_TGT --build=$(../scripts/config.guess) \
      --enable-kernel=4.14 --with-headers=$LFS/usr/include libc_cv_slibdir=/usr/lib
make
make DESTDIR=$LFS install
popd
rm -rf glibc-2.38

# 5.6. Libstdc++ from GCC-13.2.0
tar -xf gcc-13.2.0.tar.xz
pushd gcc-13.2.0
mkdir -v build && cd build
../libstdc++-v3/configure --host=$LFS_TGT --build=$(../config.guess) --prefix=/usr \
    --disable-multilib --disable-nls --disable-libstdcxx-pch \
    --with-gxx-include-dir=/tools/$LFS_TGT/include/c++/13.2.0
make
make DESTDIR=$LFS install
popd
rm -rf gcc-13.2.0
