#!/bin/bash
# libgreet: a static library and its header (run inside the unpacked source)
set -e
make
make DESTDIR="$LFS" PREFIX=/usr install
