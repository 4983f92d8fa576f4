#!/usr/bin/env bash
# make-busybox-multiarch.sh OUTDIR
#
# Makes mybuild's multi-platform fixture base image: an OCI image layout at OUTDIR whose one tag,
# `latest`, is an image index with two entries, linux/amd64 and linux/arm64, each the busybox
# base of scripts/make-busybox-base.sh made from Debian's busybox-static package of that
# architecture. The host's own architecture comes from the installed package (/bin/busybox);
# the other one's /bin/busybox is taken from its .deb, fetched with
# `apt-get download busybox-static:<arch>` (needs `dpkg --add-architecture <arch>` and an
# `apt-get update`, which scripts/install-system-deps.sh does), or from $BUSYBOX_DEB_<arch>
# (e.g. BUSYBOX_DEB_arm64=/path/busybox-static_…_arm64.deb) when set. The foreign binary is
# never run: the applet list comes from the host's busybox of the same Debian version.
#
# Same input, same bytes (see make-busybox-base.sh); the index is compact JSON from jq.
# The last line printed is the index digest.
#
# How tests find it: test/helpers/base-image.ts `ensureMultiArchBaseImage()` runs this script
# once into `${TMPDIR:-/tmp}/mybuild-fixtures/busybox-multiarch-<hash of both scripts>`;
# `multiArchSkipReason()` says why it cannot be made here. Use it as `oci:<path>:latest`.
set -euo pipefail
umask 022
export LC_ALL=C SOURCE_DATE_EPOCH=0

OUT=${1:?usage: make-busybox-multiarch.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
HOST=$(dpkg --print-architecture)
ARCHES="amd64 arm64"

for tool in jq sha256sum dpkg-deb apt-get; do
  command -v "$tool" >/dev/null || { echo "make-busybox-multiarch: $tool is required" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp" # apt-get download writes as its _apt user

entries=()
for a in $ARCHES; do
  if [ "$a" = "$HOST" ]; then
    bb=${BUSYBOX:-/bin/busybox}
  else
    var=BUSYBOX_DEB_$a
    deb=${!var:-}
    if [ -z "$deb" ]; then
      (cd "$tmp" && apt-get download -qq "busybox-static:$a" >/dev/null) || {
        echo "make-busybox-multiarch: apt-get download busybox-static:$a failed: run 'dpkg --add-architecture $a && apt-get update' (scripts/install-system-deps.sh)" >&2
        exit 1
      }
      deb=$(ls "$tmp"/busybox-static_*_"$a".deb)
    fi
    dpkg-deb -x "$deb" "$tmp/deb-$a"
    bb=$tmp/deb-$a/bin/busybox
  fi
  BUSYBOX=$bb BUSYBOX_LIST=${BUSYBOX:-/bin/busybox} DPKG_ARCH=$a bash "$HERE/make-busybox-base.sh" "$tmp/oci-$a" >/dev/null
  # The single-platform layout's only entry, without its ref name: an entry of the new index.
  entries+=("$(jq -c '.manifests[0] | del(.annotations)' "$tmp/oci-$a/index.json")")
done

jq -cjn --argjson ms "$(printf '%s\n' "${entries[@]}" | jq -cs .)" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: $ms
  }' >"$tmp/image-index.json"
idig=sha256:$(sha256sum "$tmp/image-index.json" | cut -d' ' -f1)
isize=$(stat -c %s "$tmp/image-index.json")

mkdir -p "$OUT"
rm -rf "${OUT:?}/blobs" "$OUT/index.json" "$OUT/oci-layout"
mkdir -p "$OUT/blobs/sha256"
for a in $ARCHES; do cp -n "$tmp/oci-$a"/blobs/sha256/* "$OUT/blobs/sha256/"; done
cp "$tmp/image-index.json" "$OUT/blobs/sha256/${idig#sha256:}"
printf '{"imageLayoutVersion":"1.0.0"}' >"$OUT/oci-layout"
jq -cjn --arg d "$idig" --argjson s "$isize" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
      annotations: {"org.opencontainers.image.ref.name": "latest"}}]
  }' >"$OUT/index.json"
echo "$idig"
