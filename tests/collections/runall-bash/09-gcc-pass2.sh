# GCC-13.2.0 - Pass 2
PATCHES=$PWD    # run-all.sh starts us in the scripts' directory
cd $LFS/sources
tar xf gcc-13.2.0.tar.xz
cd gcc-13.2.0
patch -Np1 -i $PATCHES/gcc-13.2.0-fix.patch
tar -xf ../mpfr-4.2.0.tar.xz && mv -v mpfr-4.2.0 mpfr
tar -xf ../gmp-6.3.0.tar.xz && mv -v gmp-6.3.0 gmp
tar -xf ../mpc-1.3.1.tar.gz && mv -v mpc-1.3.1 mpc
sed '/thread_header =/s/@.*@/gthr-posix.h/' -i libgcc/Makefile.in libstdc++-v3/include/Makefile.in
mkdir -v build
cd build
../configure --build=$(../config.guess) --host=$LFS_TGT --target=$LFS_TGT \
    LDFLAGS_FOR_TARGET=-L$PWD/$LFS_TGT/libgcc --prefix=/usr --with-build-sysroot=$LFS \
    --enable-default-pie --enable-default-ssp --disable-nls --disable-multilib \
    --disable-libatomic --disable-libgomp --disable-libquadmath --disable-libsanitizer \
    --disable-libssp --disable-libvtv --enable-languages=c,c++
make
make DESTDIR=$LFS install
ln -sv gcc $LFS/usr/bin/cc
cd $LFS/sources
rm -rf gcc-13.2.0
