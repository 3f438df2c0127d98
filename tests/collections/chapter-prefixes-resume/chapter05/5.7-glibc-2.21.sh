# 5.7. Glibc-2.21
cd $LFS/sources
tar -xf glibc-2.21.tar.xz
cd glibc-2.21
mkdir -v ../glibc-build
cd ../glibc-build
../glibc-2.21/configure --prefix=/tools --host=$LFS_TGT --build=$(../glibc-2.21/scripts/config.guess) \
    --disable-profile --enable-kernel=2.6.32 --with-headers=/tools/include \
    libc_cv_forced_unwind=yes libc_cv_ctors_header=yes libc_cv_c_cleanup=yes
make
make install
cd $LFS/sources
rm -rf glibc-2.21 glibc-build
