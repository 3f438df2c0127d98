#!/bin/bash
# the BLFS part, in dependency order (which is not the order of the book's chapters)
set -e
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../lib/functions.sh"
cd "$LFS/sources"
BLFS_PKGS=(
    c09.02.01.Libtasn1-4.19.0
    c09.05.03.P11-kit-0.25.0
    c04.02.01.Make-ca-1.12
    c14.20.04.Wget-1.21.4
)
for p in "${BLFS_PKGS[@]}"; do
    run_step "$DIR/$p.sh"
done
