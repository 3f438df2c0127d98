# M4-1.4.19 -- sourced by run-all.sh: stay where we started
pushd $LFS/sources
tar xf m4-1.4.19.tar.xz
pushd m4-1.4.19
./configure --prefix=/usr --host=$LFS_TGT --build=$(build-aux/config.guess)
make
make DESTDIR=$LFS install
popd
rm -rf m4-1.4.19
popd
