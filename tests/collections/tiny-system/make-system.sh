#!/bin/bash
# make-system.sh: a tiny system in $LFS, from two tarballs in $LFS/sources
set -e
: "${LFS:?set LFS first}"
export SOURCES=$LFS/sources
cd "$(dirname "$0")"

sh 01-layout.sh
bash 02-etc-files.sh
( . ./03-hello.sh )
bash 04-mytools.sh
source ./05-motd.sh
bash 06-check.sh
echo "tiny system ready in $LFS"
