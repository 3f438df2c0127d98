#!/bin/bash
# main.sh [STEP]: host preparation, tools as the lfs user, the system in the chroot
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lfs.conf"
start=${1:-1}

case $start in
1)
    bash "$HERE/host/version-check.sh"
    sudo bash "$HERE/host/mkdirs.sh"
    sudo -E "$HERE/host/add-user.sh"
    ;&
2)
    for pkg in binutils gcc glibc; do
        echo "== tools/$pkg"
        su - "$LFS_USER" -c "cd $HERE/tools && bash $pkg.sh"
    done
    su lfs -c "bash $HERE/tools/m4.sh"
    ;&
3)
    sudo mkdir -pv "$LFS/sources/scripts" $LFS/{dev,proc,sys,run}
    sudo cp -v "$HERE"/system/*.sh "$HERE/system/127.0.0" "$LFS/sources/scripts/"
    for fs in dev proc sys run; do
        mountpoint -q "$LFS/$fs" || sudo mount -v --bind "/$fs" "$LFS/$fs"
    done
    sudo chroot "$LFS" /usr/bin/env -i HOME=/root TERM="$TERM" PATH=$CHROOT_PATH \
        /bin/bash --login /sources/scripts/glibc.sh
    sudo chroot "$LFS" /usr/bin/env -i HOME=/root TERM="$TERM" PATH=$CHROOT_PATH \
        /bin/bash --login /sources/scripts/gcc.sh
    sudo chroot "$LFS" /usr/bin/env -i HOME=/root TERM="$TERM" PATH=$CHROOT_PATH \
        /bin/bash --login -c "cd /sources/scripts && bash bind.sh"
    ;;
esac
echo "finished"
