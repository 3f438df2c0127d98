# 5.5. GCC-4.9.2 - Pass 1
cd $LFS/sources
tar -xf gcc-4.9.2.tar.bz2
cd gcc-4.9.2
tar -xf ../mpfr-3.1.2.tar.xz && mv -v mpfr-3.1.2 mpfr
tar -xf ../gmp-6.0.0a.tar.xz && mv -v gmp-6.0.0 gmp
tar -xf ../mpc-1.0.2.tar.gz && mv -v mpc-1.0.2 mpc
mkdir -v ../gcc-build
cd ../gcc-build
../gcc-4.9.2/configure --target=$LFS_TGT --prefix=/tools --with-sysroot=$LFS --with-newlib \
    --without-headers --with-local-prefix=/tools --with-native-system-header-dir=/tools/include \
    --disable-nls --disable-shared --disable-multilib --disable-threads --enable-languages=c,c++
make
make install
cd $LFS/sources
rm -rf gcc-4.9.2 gcc-build
