# 6.48. Make-4.1
cd /sources
tar -xf make-4.1.tar.bz2
cd make-4.1
./configure --prefix=/usr
make
make install
cd /sources
rm -rf make-4.1
