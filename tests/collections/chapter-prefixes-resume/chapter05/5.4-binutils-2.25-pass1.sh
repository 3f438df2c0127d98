# 5.4. Binutils-2.25 - Pass 1
cd $LFS/sources
tar -xf binutils-2.25.tar.bz2
cd binutils-2.25
mkdir -v ../binutils-build
cd ../binutils-build
../binutils-2.25/configure --prefix=/tools --with-sysroot=$LFS --with-lib-path=/tools/lib \
    --target=$LFS_TGT --disable-nls --disable-werror
make
mkdir -v /tools/lib && ln -sv lib /tools/lib64
make install
cd $LFS/sources
rm -rf binutils-2.25 binutils-build
