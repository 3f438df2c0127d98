#!/bin/bash
# lfsplug: phase=host
# Lay out a minimal tree under $LFS, as chapter 4 does.
mkdir -pv "$LFS"/{sources,tools,usr/bin}
