#!/bin/bash
# Where there is no internet but a Debian mirror: take mini-lfs's upstream tarballs from
# Debian's source packages. A GNU package's `.orig` tarball is the upstream release tarball
# byte for byte; this script renames it to its upstream name and checks it against md5sums.
#
#   examples/mini-lfs/fetch-from-debian.sh [DEST]     (default: examples/mini-lfs/sources)
#
# Steps: add a deb-src entry mirroring the machine's own deb entry when apt has none
# (/etc/apt/sources.list.d/lfsplug-src.sources, from debian.sources in deb822 form, or
# lfsplug-src.list from /etc/apt/sources.list's `deb` lines), `apt-get update`,
# `apt-get source --download-only` in a temporary directory, rename, `md5sum -c`, and check
# that each tarball unpacks into the top directory its script's unpack= expects.
# Exit 0: every tarball is in DEST and matches; 1: something failed (said on stderr).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dest=$(mkdir -p "${1:-$here/sources}" && cd "${1:-$here/sources}" && pwd)
sums=$here/sources/md5sums
apt_dir=/etc/apt
say() { echo "fetch-from-debian: $*"; }
die() { echo "fetch-from-debian: $*" >&2; exit 1; }

# Debian source package, upstream version, tarball name in the wget-list, its top directory.
# gawk keeps Debian's name: Debian repacks it (the GFDL manual's sources are removed), so it is
# not the upstream tarball, and the wget-list takes it from Debian's pool too.
packages=(
  "hello 2.10 hello-2.10.tar.gz hello-2.10"
  "m4 1.4.19 m4-1.4.19.tar.xz m4-1.4.19"
  "sed 4.9 sed-4.9.tar.xz sed-4.9"
  "grep 3.8 grep-3.8.tar.xz grep-3.8"
  "gawk 5.2.1 gawk_5.2.1.orig.tar.xz gawk-5.2.1"
  "diffutils 3.8 diffutils-3.8.tar.xz diffutils-3.8"
  "libtasn1-6 4.19.0 libtasn1-4.19.0.tar.gz libtasn1-4.19.0"
)

have_file() { # NAME: DEST holds it and it matches md5sums
  [ -f "$dest/$1" ] && grep -E "  $1\$" "$sums" | (cd "$dest" && md5sum -c --status -)
}

missing=()
for entry in "${packages[@]}"; do
  read -r _ _ name _ <<<"$entry"
  have_file "$name" || missing+=("$entry")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#packages[@]} tarballs already in $dest and matching md5sums"
  exit 0
fi

command -v apt-get >/dev/null || die "no apt-get on this machine: fetch the wget-list instead (lfsplug sources fetch)"

has_deb_src() {
  grep -qsE '^[[:space:]]*Types:.*deb-src' "$apt_dir"/sources.list.d/*.sources && return 0
  grep -qsE '^[[:space:]]*deb-src[[:space:]]' "$apt_dir"/sources.list "$apt_dir"/sources.list.d/*.list
}

if ! has_deb_src; then
  [ "$(id -u)" -eq 0 ] || die "apt has no deb-src entry and adding one needs root: run this as root"
  if [ -f "$apt_dir/sources.list.d/debian.sources" ]; then
    # deb822: every stanza whose Types has `deb`, as `deb-src` (URIs, Suites, Components, keys kept)
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         /(^|\n)Types:[^\n]*(^|[ \t])deb([ \t]|\n|$)/ {
           sub(/Types:[^\n]*/, "Types: deb-src"); print }' \
      "$apt_dir/sources.list.d/debian.sources" > "$apt_dir/sources.list.d/lfsplug-src.sources"
    say "added $apt_dir/sources.list.d/lfsplug-src.sources (deb-src, from debian.sources)"
  elif grep -qsE '^[[:space:]]*deb[[:space:]]' "$apt_dir/sources.list"; then
    sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$apt_dir/sources.list" \
      > "$apt_dir/sources.list.d/lfsplug-src.list"
    say "added $apt_dir/sources.list.d/lfsplug-src.list (deb-src, from sources.list)"
  else
    die "no deb entry in $apt_dir/sources.list.d/debian.sources or $apt_dir/sources.list to mirror"
  fi
fi

apt-get update -qq || die "apt-get update failed: the Debian mirror is unreachable"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
srcs=()
for entry in "${missing[@]}"; do read -r src _ <<<"$entry"; srcs+=("$src"); done
say "apt-get source --download-only ${srcs[*]}"
(cd "$work" && apt-get source --download-only -qq "${srcs[@]}" >/dev/null 2>"$work/apt.err") \
  || die "apt-get source failed: $(tail -n1 "$work/apt.err")"

failed=0
for entry in "${missing[@]}"; do
  read -r src version name want <<<"$entry"
  ext=${name##*.tar.}
  orig=$work/${src}_${version}.orig.tar.$ext
  if [ ! -f "$orig" ]; then
    echo "fetch-from-debian: $name: Debian's $src has no ${src}_${version}.orig.tar.$ext (its version moved?)" >&2
    failed=1; continue
  fi
  cp "$orig" "$dest/$name.part"
  top=$({ tar -tf "$dest/$name.part" 2>/dev/null || true; } | head -n1); top=${top%%/*}
  if [ "$top" != "$want" ]; then
    echo "fetch-from-debian: $name: its top directory is $top, not $want (unpack= expects it)" >&2
    rm -f "$dest/$name.part"; failed=1; continue
  fi
  mv "$dest/$name.part" "$dest/$name"
  if grep -E "  $name\$" "$sums" | (cd "$dest" && md5sum -c --status -); then
    say "$name from Debian's ${src}_${version}.orig.tar.$ext: md5 matches $sums"
  else
    echo "fetch-from-debian: $name: md5 $(md5sum < "$dest/$name" | cut -d' ' -f1) is not the one $sums gives" >&2
    rm -f "$dest/$name"; failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1
say "${#packages[@]} tarballs in $dest, matching md5sums"
