#!/bin/bash
# phase 3: temporary tools, as the lfs user
set -e
DIR=$(cd "$(dirname "$0")" && pwd)
su lfs -c "bash $DIR/m4.sh"
su lfs -c "bash $DIR/bash.sh"
