#!/bin/bash
# lfsplug: phase=temp version=1.0 depends=tasn1-demo
# The programs built for the target, run: through qemu-user where the target is another
# machine ($LFSPLUG_TARGET_RUN, set by the cross plugin), directly where it is this one.
set -e
set -o pipefail
export LD_LIBRARY_PATH="$LFS/usr/lib"
# shellcheck disable=SC2086  # the runner is words: qemu-aarch64 -L PREFIX
$LFSPLUG_TARGET_RUN "$LFS/usr/bin/tasn1-demo" | tee /dev/stderr | grep -q '82 01 2c'
# shellcheck disable=SC2086
$LFSPLUG_TARGET_RUN "$LFS/usr/bin/asn1Parser" --version | head -n 1
echo "ran on $LFS_TGT: ${LFSPLUG_TARGET_RUN:-natively}"
