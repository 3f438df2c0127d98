#!/bin/bash
# Chapter 4. Final Preparations
set -e

# 4.2. Creating a Limited Directory Layout in the LFS Filesystem
mkdir -pv $LFS/{etc,var} $LFS/usr/{bin,lib,sbin}
for i in bin lib sbin; do
  ln -sv usr/$i $LFS/$i
done
mkdir -pv $LFS/tools

# 4.3. Adding the LFS User
groupadd lfs
useradd -s /bin/bash -g lfs -m -k /dev/null lfs
chown -v lfs $LFS/{usr{,/*},lib,var,etc,bin,sbin,tools}
