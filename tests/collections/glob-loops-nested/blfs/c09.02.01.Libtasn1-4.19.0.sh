tar -xf libtasn1-4.19.0.tar.gz
cd libtasn1-4.19.0
./configure --prefix=/usr --disable-static
make
make install
cd .. && rm -rf libtasn1-4.19.0
