#!/usr/bin/env bash
# Quick start, step 1: installs everything mybuild needs on Debian 12 (as root), builds it, and
# runs a real build of fixtures/quickstart on a busybox base image made from Debian's
# busybox-static, then runs the result, and links the mybuild command into /usr/local/bin
# (~/.local/bin when not root).
#   bash scripts/setup.sh            store in $MYBUILD_ROOT (default /var/lib/mybuild)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci
M="dist/bin/mybuild"
base=$(mktemp -d "${TMPDIR:-/tmp}/mybuild-base.XXXXXX")
trap 'rm -rf "$base"' EXIT
bash scripts/make-busybox-base.sh "$base/oci" >/dev/null
$M load -i "$base/oci" >/dev/null
$M tag latest:latest busybox:latest && $M rmi latest:latest >/dev/null
echo "setup: building fixtures/quickstart as quickstart:latest"
$M build --progress plain -t quickstart:latest fixtures/quickstart
$M images
echo "setup: running it:"
$M run --rm quickstart:latest
# The command on the PATH: a link to the checkout's launcher (it follows the link to its bundle).
bindir=/usr/local/bin
if [ "$(id -u)" != 0 ]; then bindir="$HOME/.local/bin"; mkdir -p "$bindir"; fi
ln -sfn "$PWD/$M" "$bindir/mybuild"
if [ "$(command -v mybuild 2>/dev/null)" = "$bindir/mybuild" ]; then
  echo "setup: mybuild is on the PATH ($bindir/mybuild -> $PWD/$M)"
else
  echo "setup: mybuild is $bindir/mybuild (-> $PWD/$M); add $bindir to PATH: export PATH=\"$bindir:\$PATH\""
fi
