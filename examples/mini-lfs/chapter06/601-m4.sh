#!/bin/bash
# lfsplug: phase=temp version=1.4.19 provides=m4 unpack=m4-1.4.19.tar.xz sbu=0.4
# Chapter 6: a temporary tool, installed into $LFS/tools. Like the book's chapter 6 it runs no
# test suite: m4's check 198.sysval expects no "Killed" on stderr from the shell that reports
# the signal its child died of, and bash and dash both print it.
set -e
./configure --prefix="$LFS/tools" --disable-nls
make
make install
