#!/bin/bash
# lfsplug: phase=system version=5.2.1 provides=gawk unpack=gawk_5.2.1.orig.tar.xz sbu=0.4
# Chapter 8: configure, make, the test suite, install into $LFS. Debian's tarball (the only
# gawk this machine can reach) lacks the manual's sources (doc/gawktexi.in), so doc/ and
# awklib/ (whose programs are extracted from the manual) are left out of the build.
set -e
sed -i 's/extras//; /^SUBDIRS = /s/ doc awklib / /' Makefile.in
./configure --prefix=/usr --disable-nls
make
# Tests commas, mbstr1 and mbstr2 run in en_US.UTF-8: where the host has not installed it, a
# private copy is made for them (LOCPATH), as the book's glibc installs it in chapter 8.
if ! locale -a 2>/dev/null | grep -qixE 'en_US\.utf-?8'; then
  mkdir -p test-locales
  localedef -i en_US -f UTF-8 test-locales/en_US.UTF-8 || [ -d test-locales/en_US.UTF-8 ]
  export LOCPATH=$PWD/test-locales
fi
if [ "$MINI_LFS_CHECK" = yes ]; then make check; fi
make DESTDIR="$LFS" install
