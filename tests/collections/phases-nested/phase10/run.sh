#!/bin/bash
# phase 10: the kernel and the boot loader, inside the chroot
set -e
HERE=$(dirname "$0")
for s in kernel grub; do
    bash "$HERE/$s.sh"
done
