#!/usr/bin/env bash
# make-busybox-base.sh OUTDIR
#
# Makes mybuild's fixture base image, reproducibly, from the Debian busybox-static package's
# /bin/busybox (installed by scripts/install-system-deps.sh): an OCI image layout at OUTDIR
# with one tag, `latest`, and one gzip layer holding
#   /bin/busybox and its applet symlinks (`busybox --list-full`, absolute targets /bin/busybox),
#   /etc/passwd (root, nobody 65534), /etc/group (root, nogroup 65534),
#   empty /etc/hosts /etc/hostname /etc/resolv.conf,
#   dirs /dev /proc /sys /run /home /var /root (0700) /tmp (1777).
# Config: Env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, Cmd ["sh"],
# os linux, architecture from `dpkg --print-architecture` mapped to OCI names.
#
# Another architecture's busybox (scripts/make-busybox-multiarch.sh): DPKG_ARCH=arm64 names its
# Debian architecture, BUSYBOX its binary, BUSYBOX_LIST a busybox this host runs that lists the
# applets (the same Debian version, so the same applets; default $BUSYBOX).
#
# Same input, same bytes: entries sorted, mtimes 0 (SOURCE_DATE_EPOCH=0), owners 0:0 without
# names, `gzip -n`, compact JSON from jq. Two runs on one machine give the same manifest digest.
# The last line printed is the manifest digest.
#
# How tests find it: test/helpers/base-image.ts `ensureBaseImage()` runs this script once into
# `${TMPDIR:-/tmp}/mybuild-fixtures/busybox-oci-<first 16 hex of sha256(this script)>` and returns
# that path (an edit to this script makes a new cache dir); `baseImageSkipReason()` says why it
# cannot be built (busybox, tar, gzip or jq missing). Use it as `oci:<path>:latest`.
set -euo pipefail
umask 022
export LC_ALL=C SOURCE_DATE_EPOCH=0

OUT=${1:?usage: make-busybox-base.sh OUTDIR}
BUSYBOX=${BUSYBOX:-/bin/busybox}
BUSYBOX_LIST=${BUSYBOX_LIST:-$BUSYBOX}

for tool in tar gzip jq sha256sum; do
  command -v "$tool" >/dev/null || { echo "make-busybox-base: $tool is required" >&2; exit 1; }
done
if [ ! -x "$BUSYBOX" ]; then
  echo "make-busybox-base: $BUSYBOX not found: install busybox-static (scripts/install-system-deps.sh)" >&2
  exit 1
fi

case "${DPKG_ARCH:-$(dpkg --print-architecture 2>/dev/null || uname -m)}" in
  amd64 | x86_64) ARCH=amd64 VARIANT= ;;
  arm64 | aarch64) ARCH=arm64 VARIANT= ;;
  armhf) ARCH=arm VARIANT=v7 ;;
  armel) ARCH=arm VARIANT=v5 ;;
  i386 | i686) ARCH=386 VARIANT= ;;
  ppc64el | ppc64le) ARCH=ppc64le VARIANT= ;;
  s390x) ARCH=s390x VARIANT= ;;
  riscv64) ARCH=riscv64 VARIANT= ;;
  *) echo "make-busybox-base: unknown architecture $(dpkg --print-architecture)" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/rootfs
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,run,home,var,root,tmp}
install -m 0755 "$BUSYBOX" "$r/bin/busybox"
"$BUSYBOX_LIST" --list-full | sort | while read -r p; do
  case "$p" in bin/busybox | linuxrc | "") continue ;; esac
  mkdir -p "$r/$(dirname "$p")"
  ln -s /bin/busybox "$r/$p"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
: >"$r/etc/hosts"
: >"$r/etc/hostname"
: >"$r/etc/resolv.conf"
find "$r" -type d -exec chmod 0755 {} +
find "$r/etc" -type f -exec chmod 0644 {} +
chmod 0700 "$r/root"
chmod 1777 "$r/tmp"

# The layer: sorted, mtime 0, numeric owners 0:0, no atime/ctime (GNU format has none).
(cd "$r" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  -cf "$tmp/layer.tar" $(ls -A))
gzip -n -9 -c "$tmp/layer.tar" >"$tmp/layer.tar.gz"
diffid=sha256:$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
ldig=sha256:$(sha256sum "$tmp/layer.tar.gz" | cut -d' ' -f1)
lsize=$(stat -c %s "$tmp/layer.tar.gz")

created=1970-01-01T00:00:00Z
jq -cjn --arg d "$diffid" --arg t "$created" --arg a "$ARCH" --arg v "$VARIANT" '{
    created: $t, architecture: $a, os: "linux",
    config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"]},
    rootfs: {type: "layers", diff_ids: [$d]},
    history: [{created: $t, created_by: "scripts/make-busybox-base.sh: busybox-static rootfs"}]
  } + (if $v == "" then {} else {variant: $v} end)' >"$tmp/config.json"
cdig=sha256:$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
csize=$(stat -c %s "$tmp/config.json")

jq -cjn --arg c "$cdig" --argjson cs "$csize" --arg l "$ldig" --argjson ls "$lsize" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
    layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]
  }' >"$tmp/manifest.json"
mdig=sha256:$(sha256sum "$tmp/manifest.json" | cut -d' ' -f1)
msize=$(stat -c %s "$tmp/manifest.json")

jq -cjn --arg m "$mdig" --argjson ms "$msize" --arg a "$ARCH" --arg v "$VARIANT" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
      platform: ({architecture: $a, os: "linux"} + (if $v == "" then {} else {variant: $v} end)),
      annotations: {"org.opencontainers.image.ref.name": "latest"}}]
  }' >"$tmp/index.json"

mkdir -p "$OUT"
rm -rf "${OUT:?}/blobs" "$OUT/index.json" "$OUT/oci-layout"
mkdir -p "$OUT/blobs/sha256"
cp "$tmp/layer.tar.gz" "$OUT/blobs/sha256/${ldig#sha256:}"
cp "$tmp/config.json" "$OUT/blobs/sha256/${cdig#sha256:}"
cp "$tmp/manifest.json" "$OUT/blobs/sha256/${mdig#sha256:}"
printf '{"imageLayoutVersion":"1.0.0"}' >"$OUT/oci-layout"
cp "$tmp/index.json" "$OUT/index.json"
echo "$mdig"
