#!/bin/bash
# Required: linux-pam
set -e
sed -i 's/groups$(EXEEXT) //' src/Makefile.in
./configure --sysconfdir=/etc --with-group-name-max-length=32
make
make exec_prefix=/usr install
