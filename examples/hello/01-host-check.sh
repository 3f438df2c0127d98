#!/bin/bash
# lfsplug: phase=host
# The book checks the host before anything else (chapter 2); this is a small taste of it.
echo "bash: ${BASH_VERSION}"
command -v cc >/dev/null || { echo "no C compiler (cc) on this host" >&2; exit 1; }
cc --version | head -n1
[ -n "$LFS" ] || { echo "LFS is not set" >&2; exit 1; }
echo "LFS=$LFS LC_ALL=$LC_ALL"
