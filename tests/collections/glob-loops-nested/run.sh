#!/bin/bash
# run.sh: LFS, then BLFS
set -e
DIR=$(cd "$(dirname "$0")" && pwd)
export LFS=${LFS:-/mnt/lfs}
. "$DIR/lib/functions.sh"

log "LFS"
"$DIR"/lfs/run-lfs.sh
log "BLFS"
bash "$DIR/blfs/run-blfs.sh"
# bash "$DIR/extras/optional-valgrind.sh"
log "finished"
