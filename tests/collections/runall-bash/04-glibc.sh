# Glibc-2.38 (run with sh: keep it POSIX)
cd $LFS/sources
tar xf glibc-2.38.tar.xz
cd glibc-2.38
ln -sfv ../lib/ld-linux-x86-64.so.2 $LFS/lib64
patch -Np1 -i ../glibc-2.38-fhs-1.patch
mkdir -v build
cd build
echo "rootsbindir=/usr/sbin" > configparms
../configure --prefix=/usr --host=$LFS_TGT --build=$(../scripts/config.guess) \
      --enable-kernel=4.14 --with-headers=$LFS/usr/include libc_cv_slibdir=/usr/lib
make
make DESTDIR=$LFS install
sed '/RTLDLIST=/s@/usr@@g' -i $LFS/usr/bin/ldd
cd $LFS/sources
rm -rf glibc-2.38
