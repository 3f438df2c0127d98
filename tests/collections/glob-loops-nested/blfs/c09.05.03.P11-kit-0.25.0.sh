# Recommended: libtasn1
tar -xf p11-kit-0.25.0.tar.xz
cd p11-kit-0.25.0
sed '20,$ d' -i trust/trust-extract-compat
mkdir p11-build && cd p11-build
meson setup .. --prefix=/usr --buildtype=release -Dtrust_paths=/etc/pki/anchors
ninja
ninja install
ln -sfv /usr/libexec/make-ca/copy-trust-modifications /usr/libexec/p11-kit/trust-extract-compat
cd ../.. && rm -rf p11-kit-0.25.0
