#!/bin/bash
# main.sh: prepare, then build
set -e
cd "$(dirname "$0")"
source ./lfs.conf
LOG=$LFS/build-logs
mkdir -p "$LOG"

for step in dirs user env; do
    echo "--- prepare/$step"
    bash prepare/$step.sh
done

TOOLCHAIN="binutils gcc linux-headers glibc"
for p in $TOOLCHAIN; do
    echo "--- build/$p"
    ./build/$p.sh 2>&1 | tee "$LOG/$p.log"
done

TEMP=(m4 ncurses coreutils)
for p in "${TEMP[@]}"; do
    echo "--- build/$p"
    sh "build/$p.sh" >"$LOG/$p.log" 2>&1
done
