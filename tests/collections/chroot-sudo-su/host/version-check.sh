#!/bin/bash
# a short version of the book's version-check.sh
export LC_ALL=C
bash --version | head -n1
ld --version | head -n1
gcc --version | head -n1
make --version | head -n1
if [ -h /usr/bin/yacc ]; then echo "/usr/bin/yacc -> $(readlink -f /usr/bin/yacc)"; fi
