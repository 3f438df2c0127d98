# Tcl-8.6.13 (only needed for the test suites)
cd $LFS/sources
tar xf tcl8.6.13-src.tar.gz
cd tcl8.6.13/unix
./configure --prefix=/usr --mandir=/usr/share/man
make
make install
cd $LFS/sources
rm -rf tcl8.6.13
