#!/bin/bash
set -e
mkdir -pv $LFS/{etc,var,tools,sources} $LFS/usr/{bin,lib,sbin}
for i in bin lib sbin; do
  ln -sv usr/$i $LFS/$i
done
chmod -v a+wt $LFS/sources
