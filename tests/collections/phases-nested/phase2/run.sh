#!/bin/bash
# phase 2: the cross toolchain, as the lfs user
set -e
DIR=$(cd "$(dirname "$0")" && pwd)
for pkg in binutils gcc linux-headers glibc; do
    echo "--- $pkg"
    su - lfs -c "cd $DIR && ./$pkg.sh"
done
