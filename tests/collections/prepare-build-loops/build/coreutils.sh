# run with sh by main.sh
set -e
PACKAGE=coreutils-9.3
cd $LFS/sources
tar xf $PACKAGE.tar.xz
cd $PACKAGE
./configure --prefix=/usr --host=$LFS_TGT --build=$(build-aux/config.guess) \
            --enable-install-program=hostname --enable-no-install-program=kill,uptime
make
make DESTDIR=$LFS install
mv -v $LFS/usr/bin/chroot $LFS/usr/sbin
cd $LFS/sources && rm -rf $PACKAGE
