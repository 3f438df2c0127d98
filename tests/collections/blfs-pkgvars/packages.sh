# where each package comes from (sourced by install.sh)
PKG_CRACKLIB=https://example.invalid/blfs/cracklib-2.9.11.tar.xz
PKG_LIBPWQUALITY=https://example.invalid/blfs/libpwquality-1.4.5.tar.bz2
PKG_LINUX_PAM=https://example.invalid/blfs/Linux-PAM-1.5.3.tar.xz
PKG_SHADOW=https://example.invalid/blfs/shadow-4.13.tar.xz
PKG_MAKE_CA=https://example.invalid/blfs/make-ca-1.12.tar.xz
PKG_SUDO=https://example.invalid/blfs/sudo-1.9.14p3.tar.gz
PKG_PROFTPD=https://example.invalid/blfs/proftpd-1.3.8b.tar.gz
PKG_OPENSSH=https://example.invalid/blfs/openssh-9.4p1.tar.gz
