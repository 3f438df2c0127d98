#!/bin/bash
# phase 1: the partition's layout and the lfs user (as root, on the host)
set -e
DIR=$(dirname "$0")
"$DIR"/dirs.sh
"$DIR"/lfs-user.sh
