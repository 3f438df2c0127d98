#!/bin/bash
# the directories the packages install into
set -e
mkdir -pv "$LFS/usr/bin" "$LFS/usr/lib" "$LFS/usr/include" "$LFS/etc" "$LFSLOG"
