# Hello-2.0, compiled by hand (sourced by make-system.sh in a subshell)
set -e
cd "$SOURCES"
tar -xf hello-2.0.tar.gz
cd hello-2.0
cc -O2 -o hello hello.c
install -m755 hello "$LFS/usr/bin/hello"
cd "$SOURCES"
rm -rf hello-2.0
