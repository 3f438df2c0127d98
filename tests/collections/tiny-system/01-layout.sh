# the directory layout (run with sh: POSIX only)
set -e
for d in etc usr/bin usr/lib usr/share/doc var/log root tmp; do
    mkdir -p "$LFS/$d"
done
chmod 1777 "$LFS/tmp"
