#!/bin/bash
# Build the temporary toolchain: chapter 5, then chapter 6.
# usage: bash run-all.sh      (as the lfs user, LFS and LFS_TGT set)
set -e

cd "$(dirname "$0")"
echo "Building in $LFS with target $LFS_TGT"

time { bash 01-binutils-pass1.sh ; }
time { bash 02-gcc-pass1.sh ; }
bash 03-linux-headers.sh
sh 04-glibc.sh
source 05-m4.sh
bash 06-ncurses.sh
bash 07-bash.sh
bash 08-binutils-pass2.sh
bash 09-gcc-pass2.sh
# bash 10-tcl.sh
bash strip-tools.sh

echo "All done."
