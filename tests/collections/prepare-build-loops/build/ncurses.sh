# run with sh by main.sh
set -e
PACKAGE=ncurses-6.4
cd $LFS/sources
tar xf $PACKAGE.tar.gz
cd $PACKAGE
sed -i s/mawk// configure
./configure --prefix=/usr --host=$LFS_TGT --build=$(./config.guess) --mandir=/usr/share/man \
            --with-shared --without-normal --with-cxx-shared --without-debug --without-ada \
            --disable-stripping --enable-widec
make
make DESTDIR=$LFS install
cd $LFS/sources && rm -rf $PACKAGE
