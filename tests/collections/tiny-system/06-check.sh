# a last look at what was built
set -e
"$LFS/usr/bin/hello" tiny | grep -q 'Hello, tiny, from hello 2.0'
test -x "$LFS/usr/bin/lsb-info"
grep -q '^ID=tiny$' "$LFS/etc/os-release"
echo "tiny 1.0: checked" > "$LFS/var/log/check.log"
