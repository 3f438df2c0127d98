#!/bin/bash
# the LFS part: chapters 5 and 6, in the order of their file names
set -e
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../lib/functions.sh"
cd "$LFS/sources"
for s in "$DIR"/a.05.*.sh "$DIR"/a.06.*.sh; do
    run_step "$s"
done
