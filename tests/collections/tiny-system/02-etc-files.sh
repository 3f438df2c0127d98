# the essential files of /etc
set -e
cat > "$LFS/etc/hosts" << "EOT"
127.0.0.1  localhost tiny
::1        localhost
EOT
cat > "$LFS/etc/passwd" << "EOT"
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:Unprivileged User:/dev/null:/usr/bin/false
EOT
cat > "$LFS/etc/group" << "EOT"
root:x:0:
nogroup:x:65534:
EOT
cat > "$LFS/etc/os-release" << "EOT"
NAME="tiny"
VERSION="1.0"
ID=tiny
EOT
