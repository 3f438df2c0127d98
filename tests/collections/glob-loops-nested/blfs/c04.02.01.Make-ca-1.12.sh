# Required: p11-kit
tar -xf make-ca-1.12.tar.xz
cd make-ca-1.12
make install
install -vdm755 /etc/ssl/local
/usr/sbin/make-ca -g
cd .. && rm -rf make-ca-1.12
