#!/bin/bash
# lfsplug: name=hello version=1.0 phase=system provides=greeter sbu=0.1
# Unpack, build and install a package, the way every book page does.
set -o pipefail
src="$LFS/sources/hello-1.0"
rm -rf "$src" && mkdir -p "$src"
cd "$src" || exit 1
cat > hello.c <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    const char *greeting = getenv("HELLO_GREETING");
    puts(greeting ? greeting : "Hello, LFS");
    return 0;
}
C
cc -O2 -Wall -o hello hello.c
install -v -m755 hello "$LFS/usr/bin/hello"
