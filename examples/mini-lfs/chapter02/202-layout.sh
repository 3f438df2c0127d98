#!/bin/bash
# lfsplug: phase=host
# Chapter 4: the directories the packages install into.
mkdir -pv "$LFS"/{sources,tools,usr/bin,usr/lib}
