#!/bin/bash
# lfsplug: depends=greeter>=1.0
# The package's own test: run what was installed.
out=$("$LFS/usr/bin/hello")
echo "$out"
[ "$out" = "$HELLO_GREETING" ]
