#!/bin/bash
set -e
install -v -g sys -m700 -d /var/lib/sshd
./configure --prefix=/usr --sysconfdir=/etc/ssh --with-privsep-path=/var/lib/sshd \
            --with-default-path=/usr/bin --with-superuser-path=/usr/sbin:/usr/bin
make
make install
