#!/bin/bash
# phase 4: the final system; runs inside the chroot as /sources/phases/phase4/run.sh
set -e
DIR=$(dirname "$0")
cd "$DIR/../.."    # /sources
"$DIR"/glibc.sh
"$DIR"/zlib.sh
"$DIR"/binutils.sh
"$DIR"/gcc.sh
