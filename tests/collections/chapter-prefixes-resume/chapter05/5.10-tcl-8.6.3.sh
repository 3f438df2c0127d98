# 5.10. Tcl-8.6.3
cd $LFS/sources
tar -xf tcl8.6.3-src.tar.gz
cd tcl8.6.3/unix
./configure --prefix=/tools
make
make install
cd $LFS/sources
rm -rf tcl8.6.3
