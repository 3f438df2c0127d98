#!/bin/bash
# the release file, and a first run of what was built
set -e
echo "tiny 1.0" > "$LFS/etc/lfs-release"
"$LFS/usr/bin/hello" > "$LFSLOG/hello.out"
"$LFS/usr/bin/greet" world >> "$LFSLOG/hello.out"
