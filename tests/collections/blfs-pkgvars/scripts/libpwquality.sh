#!/bin/bash
# Required: cracklib
set -e
./configure --prefix=/usr --disable-static --with-securedir=/usr/lib/security \
            --with-python-binary=python3
make
make install
