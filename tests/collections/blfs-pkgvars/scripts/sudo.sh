#!/bin/bash
# Recommended: linux-pam
set -e
PACKAGE=sudo-1.9.14p3
./configure --prefix=/usr --libexecdir=/usr/lib --with-secure-path --with-all-insults \
            --with-env-editor --docdir=/usr/share/doc/$PACKAGE --with-passprompt="[sudo] password for %p: "
make
make install
