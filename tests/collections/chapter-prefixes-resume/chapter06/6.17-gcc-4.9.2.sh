# 6.17. GCC-4.9.2
cd /sources
tar -xf gcc-4.9.2.tar.bz2
cd gcc-4.9.2
mkdir -v ../gcc-build
cd ../gcc-build
SED=sed ../gcc-4.9.2/configure --prefix=/usr --enable-languages=c,c++ --disable-multilib \
    --disable-bootstrap --with-system-zlib
make
make install
ln -sv ../usr/bin/cpp /lib
cd /sources
rm -rf gcc-4.9.2 gcc-build
