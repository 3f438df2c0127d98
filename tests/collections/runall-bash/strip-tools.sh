# Strip the temporary tools and remove the libtool archives
rm -rf $LFS/usr/share/{info,man,doc}/*
find $LFS/usr/{lib,libexec} -name \*.la -delete
rm -rf $LFS/tools/$LFS_TGT
