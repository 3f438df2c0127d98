#!/bin/bash
# build.sh [STEP]: build LFS 7.7 from STEP on (1: chapter 5, 2-4: chapter 6)
set -e
start=${1:-1}
cd "$(dirname "$0")"

log() {
    echo "$(date '+%F %T') $*" >> build.log
}

case $start in
1)
    log "chapter 5"
    time { bash chapter05/5.4-binutils-2.25-pass1.sh ; }
    time { bash chapter05/5.5-gcc-4.9.2-pass1.sh ; }
    bash chapter05/5.7-glibc-2.21.sh
    # bash chapter05/5.10-tcl-8.6.3.sh      (test suites only)
    ;&
2)
    log "chapter 6: directories and headers"
    bash chapter06/6.5-creating-directories.sh
    bash chapter06/6.7-linux-3.19-api-headers.sh
    ;&
3)
    log "chapter 6: glibc, gcc"
    bash chapter06/6.9-glibc-2.21.sh
    time { bash chapter06/6.17-gcc-4.9.2.sh ; }
    ;&
4)
    log "chapter 6: make, vim"
    bash chapter06/6.48-make-4.1.sh
    bash chapter06/6.62-vim-7.4.sh
    ;;
*)
    echo "unknown step: $start" >&2
    exit 1
    ;;
esac
log "done"
