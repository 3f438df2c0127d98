#!/bin/bash
# Chapter 9. System Configuration
set -e
cd /sources

# 9.2. LFS-Bootscripts-20230728
tar -xf lfs-bootscripts-20230728.tar.xz
pushd lfs-bootscripts-20230728
make install
popd
rm -rf lfs-bootscripts-20230728

# 9.5. General Network Configuration
cat > /etc/hosts << "EOH"
127.0.0.1 localhost
::1       localhost
EOH
