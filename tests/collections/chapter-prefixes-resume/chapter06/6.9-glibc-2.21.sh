# 6.9. Glibc-2.21
cd /sources
tar -xf glibc-2.21.tar.xz
cd glibc-2.21
mkdir -v ../glibc-build
cd ../glibc-build
../glibc-2.21/configure --prefix=/usr --disable-profile --enable-kernel=2.6.32 \
    --enable-obsolete-rpc
make
touch /etc/ld.so.conf
make install
cd /sources
rm -rf glibc-2.21 glibc-build
