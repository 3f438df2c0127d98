#!/bin/bash
# chroot.sh: chapters 7 to 10, inside the chroot (started by build.sh)
set -e
SCRIPTS=$(dirname "$0")
mkdir -p "$SCRIPTS/logs"
for ch in ch07 ch08 ch09 ch10; do
    echo "== $ch"
    bash "$SCRIPTS/$ch.sh" > "$SCRIPTS/logs/$ch.log" 2>&1
done
