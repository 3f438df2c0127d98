tar -xf ncurses-6.4.tar.gz
cd ncurses-6.4
sed -i s/mawk// configure
./configure --prefix=/usr --host=$LFS_TGT --build=$(./config.guess) --mandir=/usr/share/man \
            --with-shared --without-normal --with-cxx-shared --without-debug --without-ada \
            --disable-stripping --enable-widec
make
make DESTDIR=$LFS install
cd .. && rm -rf ncurses-6.4
