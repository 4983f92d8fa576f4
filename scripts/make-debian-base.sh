#!/usr/bin/env bash
# make-debian-base.sh OUT.tar
#
# A Debian 12 (bookworm) root filesystem tarball for the tests that need apt in a RUN step
# (test/network/apt.test.ts): `debootstrap --variant=minbase bookworm` from deb.debian.org
# (Debian's `debootstrap`, installed by scripts/install-system-deps.sh), then /etc/resolv.conf
# and the apt lists emptied, packed with numeric owners. Load it with `mybuild import OUT.tar
# debian:bookworm`. Needs root and the network (~40 MB download); test/helpers caches the result
# under ${TMPDIR:-/tmp}/mybuild-fixtures.
set -euo pipefail
OUT=${1:?usage: make-debian-base.sh OUT.tar}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { echo "make-debian-base: debootstrap is required (apt-get install debootstrap)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mybuild-debian-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debootstrap --variant=minbase bookworm "$tmp/root" "$MIRROR" >"$tmp/log" 2>&1 || { tail -20 "$tmp/log" >&2; exit 1; }
: >"$tmp/root/etc/resolv.conf"
rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/"*.bin
tar --numeric-owner --xattrs -C "$tmp/root" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
