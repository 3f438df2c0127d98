#!/bin/bash
# Chapter 6. Cross Compiling Temporary Tools
set -e
cd $LFS/sources

# 6.2. M4-1.4.19
tar -xf m4-1.4.19.tar.xz
pushd m4-1.4.19
./configure --prefix=/usr --host=$LFS_TGT --build=$(build-aux/config.guess)
make
make DESTDIR=$LFS install
popd
rm -rf m4-1.4.19

# 6.4. Bash-5.2.15
tar -xf bash-5.2.15.tar.gz
pushd bash-5.2.15
./configure --prefix=/usr --build=$(sh support/config.guess) --host=$LFS_TGT \
            --without-bash-malloc
make
make DESTDIR=$LFS install
ln -sv bash $LFS/bin/sh
popd
rm -rf bash-5.2.15

# 6.17. Binutils-2.41 - Pass 2
tar -xf binutils-2.41.tar.xz
pushd binutils-2.41
sed '6009s/$add_dir//' -i ltmain.sh
mkdir -v build && cd build
../configure --prefix=/usr --build=$(../config.guess) --host=$LFS_TGT --disable-nls \
    --enable-shared --enable-gprofng=no --disable-werror --enable-64-bit-bfd
make
make DESTDIR=$LFS install
popd
rm -rf binutils-2.41

# 6.18. GCC-13.2.0 - Pass 2
tar -xf gcc-13.2.0.tar.xz
pushd gcc-13.2.0
tar -xf ../mpfr-4.2.0.tar.xz && mv -v mpfr-4.2.0 mpfr
tar -xf ../gmp-6.3.0.tar.xz && mv -v gmp-6.3.0 gmp
tar -xf ../mpc-1.3.1.tar.gz && mv -v mpc-1.3.1 mpc
mkdir -v build && cd build
../configure --build=$(../config.guess) --host=$LFS_TGT --target=$LFS_TGT \
    LDFLAGS_FOR_TARGET=-L$PWD/$LFS_TGT/libgcc --prefix=/usr --with-build-sysroot=$LFS \
    --enable-default-pie --enable-default-ssp --disable-nls --disable-multilib \
    --disable-libatomic --disable-libgomp --disable-libquadmath --disable-libsanitizer \
    --disable-libssp --disable-libvtv --enable-languages=c,c++
make
make DESTDIR=$LFS install
ln -sv gcc $LFS/usr/bin/cc
popd
rm -rf gcc-13.2.0
