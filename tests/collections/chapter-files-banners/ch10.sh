#!/bin/bash
# Chapter 10. Making the LFS System Bootable
set -e
cd /sources

# 10.3. Linux-6.4.12
tar -xf linux-6.4.12.tar.xz
pushd linux-6.4.12
make mrproper
make defconfig
make
make modules_install
cp -iv arch/x86/boot/bzImage /boot/vmlinuz-6.4.12-lfs-12.0
popd
rm -rf linux-6.4.12
