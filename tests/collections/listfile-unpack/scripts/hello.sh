#!/bin/bash
# hello (run inside the unpacked source)
set -e
make CC=cc
make DESTDIR="$LFS" install
