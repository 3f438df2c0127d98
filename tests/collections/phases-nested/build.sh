#!/bin/bash
# build.sh: the whole build, phase by phase; run as root from $LFS/sources/phases
set -e
export LFS=${LFS:-/mnt/lfs}
cd "$(dirname "$0")"

for n in 1 2 3; do
    echo ">>> phase $n"
    bash "phase$n/run.sh"
done

echo ">>> phase 4: the final system, in the chroot"
mkdir -pv $LFS/{dev,proc,sys,run}
mount -v --bind /dev $LFS/dev
mount -vt proc proc $LFS/proc
mount -vt sysfs sysfs $LFS/sys
chroot "$LFS" /usr/bin/env -i HOME=/root TERM="$TERM" PATH=/usr/bin:/usr/sbin \
    /bin/bash --login -c "bash /sources/phases/phase4/run.sh"

echo ">>> phase 10: make it bootable"
chroot "$LFS" /usr/bin/env -i HOME=/root TERM="$TERM" PATH=/usr/bin:/usr/sbin \
    /bin/bash --login /sources/phases/phase10/run.sh

umount -v $LFS/sys $LFS/proc $LFS/dev
