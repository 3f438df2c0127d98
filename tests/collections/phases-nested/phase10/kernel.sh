set -e
cd /sources
tar xf linux-*.tar.xz
cd linux-*/
make mrproper
cp -v /sources/phases/phase10/kernel.config .config
make olddefconfig
make
make modules_install
cp -iv arch/x86/boot/bzImage /boot/vmlinuz-lfs
cd /sources && rm -rf linux-*/
