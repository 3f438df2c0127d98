#!/bin/bash
# Chapter 7. Entering Chroot and Building Additional Temporary Tools
set -e
cd /sources

# 7.7. Gettext-0.22
tar -xf gettext-0.22.tar.xz
pushd gettext-0.22
./configure --disable-shared
make
cp -v gettext-tools/src/{msgfmt,msgmerge,xgettext} /usr/bin
popd
rm -rf gettext-0.22

# 7.8. Bison-3.8.2
tar -xf bison-3.8.2.tar.xz
pushd bison-3.8.2
./configure --prefix=/usr --docdir=/usr/share/doc/bison-3.8.2
make
make install
popd
rm -rf bison-3.8.2

# 7.9. Perl-5.38.0
tar -xf perl-5.38.0.tar.xz
pushd perl-5.38.0
sh Configure -des -Dprefix=/usr -Dvendorprefix=/usr -Duseshrplib
make
make install
popd
rm -rf perl-5.38.0
