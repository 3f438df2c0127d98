#!/bin/bash
# lfsplug: phase=config depends=hello,m4,sed,grep,gawk,diffutils,tasn1-demo
# Run what was built, from $LFS: each program does a small job.
set -e -o pipefail
bin=$LFS/usr/bin
"$bin/hello"
[ "$("$bin/hello")" = "Hello, world!" ]
[ "$(echo 'define(`X'"'"', `mini-lfs'"'"')X' | "$LFS/tools/bin/m4")" = mini-lfs ]
[ "$(echo 'hello lfs' | "$bin/sed" 's/lfs/LFS/')" = "hello LFS" ]
[ "$(printf 'a\nbb\nccc\n' | "$bin/grep" -c '^b')" = 1 ]
# shellcheck disable=SC2016  # awk's own $1
[ "$(printf '1 2\n3 4\n' | "$bin/gawk" '{ s += $1 * $2 } END { print s }')" = 14 ]
printf 'a\nb\n' > "$LFS/tmp-a"; printf 'a\nc\n' > "$LFS/tmp-b"
"$bin/diff" -u "$LFS/tmp-a" "$LFS/tmp-b" | grep -qx '+c' && rm -f "$LFS/tmp-a" "$LFS/tmp-b"
"$bin/tasn1-demo" | grep -q '= 82 01 2c$'
echo "mini-lfs: hello, m4, sed, grep, gawk, diff and tasn1-demo work from $LFS"
