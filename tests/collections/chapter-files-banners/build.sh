#!/bin/bash
# build.sh: chapters 4-6 on the host, then 7-10 in the chroot (chroot.sh)
set -e
cd "$(dirname "$0")"
SCRIPTS=$PWD
LOGDIR=${LOGDIR:-$SCRIPTS/logs}
mkdir -p "$LOGDIR"

build() {
    echo "== $1"
    bash "$SCRIPTS/$1.sh" 2>&1 | tee "$LOGDIR/$1.log"
}

build ch04
build ch05
build ch06

sudo chroot "$LFS" /usr/bin/env -i HOME=/root TERM="$TERM" PATH=/usr/bin:/usr/sbin \
    /bin/bash --login -c "bash /sources/lfs-chapters/chroot.sh"
