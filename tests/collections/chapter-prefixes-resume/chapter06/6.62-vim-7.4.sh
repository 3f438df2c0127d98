# 6.62. Vim-7.4
cd /sources
tar -xf vim-7.4.tar.bz2
cd vim74
echo '#define SYS_VIMRC_FILE "/etc/vimrc"' >> src/feature.h
./configure --prefix=/usr
make
make -j1 install
ln -sv vim /usr/bin/vi
cd /sources
rm -rf vim74
