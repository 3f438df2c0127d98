#!/bin/bash
# optional: strip the binaries
set -e
strip --strip-unneeded "$LFS"/usr/bin/* || true
