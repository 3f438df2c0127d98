#!/bin/bash
set -e
export PKG="proftpd-1.3.8b"
echo "building $PKG"
groupadd -g 46 proftpd || true
useradd -c proftpd -d /srv/ftp -g proftpd -s /usr/bin/proftpdshell -u 46 proftpd || true
install -v -d -m775 -o proftpd -g proftpd /srv/ftp
./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/run
make
make install
install -d -m755 /usr/share/doc/$PKG
