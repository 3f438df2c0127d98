tar -xf valgrind-3.21.0.tar.bz2
cd valgrind-3.21.0
sed -i 's|/doc/valgrind||' docs/Makefile.in
./configure --prefix=/usr --datadir=/usr/share/doc/valgrind-3.21.0
make
make install
cd .. && rm -rf valgrind-3.21.0
