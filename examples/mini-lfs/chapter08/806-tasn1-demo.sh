#!/bin/bash
# lfsplug: phase=system version=1.0 depends=libtasn1 provides=tasn1-demo
# A program of this example's own, linked against the libtasn1 built earlier in this tree
# (its headers and library under $LFS/usr; the run path lets the host run it from $LFS).
set -e
set -o pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/tasn1-demo.c" <<'C'
#include <stdio.h>
#include <libtasn1.h>
int main(void) {
    unsigned char der[ASN1_MAX_LENGTH_SIZE];
    int len = 0;
    asn1_length_der(300, der, &len);          /* DER length of 300: 82 01 2c */
    printf("libtasn1 %s: DER length of 300 =", asn1_check_version(NULL));
    for (int i = 0; i < len; i++) printf(" %02x", der[i]);
    printf("\n");
    return asn1_check_version("4.0") ? 0 : 1;
}
C
cc -O2 -Wall -I"$LFS/usr/include" -o "$work/tasn1-demo" "$work/tasn1-demo.c" \
  -L"$LFS/usr/lib" -Wl,-rpath,"$LFS/usr/lib" -ltasn1
"$work/tasn1-demo"
install -v -m755 "$work/tasn1-demo" "$LFS/usr/bin/tasn1-demo"
