#!/bin/bash
# lfsplug: phase=cross produces=toolchain cross=env
# Chapter 5 in miniature: the cross toolchain. The book builds it here; this example takes
# the distribution's (Debian: gcc-aarch64-linux-gnu), which the cross plugin found and put in
# $CC, $AR... After this script the plugin runs the book's sanity checks on it.
set -e
echo "building for $LFS_TGT with $CC"
"$CC" --version | head -n 1
mkdir -pv "$LFS"/usr/{bin,lib,include}
