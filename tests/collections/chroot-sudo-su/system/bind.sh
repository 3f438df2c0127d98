#!/bin/bash
# BIND-9.18.18: the name server, with the zones of this directory
set -e
PKG=bind-9.18.18
ZONES=$PWD
cd /sources
tar -xf $PKG.tar.xz
cd $PKG
./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var --disable-static
make
make install
install -v -d -m 770 /srv/named/etc/namedb
install -v -m 644 "$ZONES/127.0.0" /srv/named/etc/namedb/127.0.0
cd /sources && rm -rf $PKG
