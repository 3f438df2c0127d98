#!/bin/bash
# lfsplug: phase=temp version=1.0 depends=libtasn1 provides=tasn1-demo
# A program of this example's own, linked against the libtasn1 built for the target just
# before: its headers and library are in $LFS/usr ($CPPFLAGS and $LDFLAGS say so).
set -e
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
# shellcheck disable=SC2086  # the flags are words
"$CC" -O2 -Wall $CPPFLAGS -o "$work/tasn1-demo" "$work/tasn1-demo.c" $LDFLAGS -ltasn1
install -v -m755 "$work/tasn1-demo" "$LFS/usr/bin/tasn1-demo"
