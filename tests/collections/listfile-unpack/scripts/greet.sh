#!/bin/bash
# greet, linked against libgreet from $LFS (run inside the unpacked source)
set -e
make CPPFLAGS="-I$LFS/usr/include" LDFLAGS="-L$LFS/usr/lib"
make DESTDIR="$LFS" install
echo "greet installed" >> "$LFSLOG/summary"
