#!/bin/bash
# lfsplug: phase=host
# Chapter 2: the host has what the packages' configure scripts need.
for tool in bash cc make tar xz gzip; do
  command -v "$tool" >/dev/null || { echo "missing on the host: $tool" >&2; exit 1; }
done
[ -n "$LFS" ] || { echo "LFS is not set" >&2; exit 1; }
cc --version | head -n1
make --version | head -n1
echo "LFS=$LFS"
