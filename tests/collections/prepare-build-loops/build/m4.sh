# run with sh by main.sh
set -e
PACKAGE=m4-1.4.19
cd $LFS/sources
tar xf $PACKAGE.tar.xz
cd $PACKAGE
./configure --prefix=/usr --host=$LFS_TGT --build=$(build-aux/config.guess)
make
make DESTDIR=$LFS install
cd $LFS/sources && rm -rf $PACKAGE
