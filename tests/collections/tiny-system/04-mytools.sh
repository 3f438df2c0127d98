# mytools: a Makefile
set -e
PKG=mytools-0.5
cd "$SOURCES"
tar -xf $PKG.tar.xz
cd $PKG
make
make DESTDIR="$LFS" install
cd "$SOURCES"
rm -rf $PKG
