#!/bin/bash
# Dependencies: none
set -e
autoreconf -fiv
PYTHON=python3 ./configure --prefix=/usr --disable-static --with-default-dict=/usr/lib/cracklib/pw_dict
make
make install
install -v -m644 -D ../cracklib-words-2.9.11.xz /usr/share/dict/cracklib-words.xz
create-cracklib-dict /usr/share/dict/cracklib-words
