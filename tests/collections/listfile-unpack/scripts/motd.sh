#!/bin/bash
# the message of the day (run inside the unpacked source)
set -e
make DESTDIR="$LFS" install
