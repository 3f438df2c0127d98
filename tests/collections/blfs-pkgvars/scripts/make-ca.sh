#!/bin/bash
set -e
make install
install -vdm755 /etc/ssl/local
/usr/sbin/make-ca -g
