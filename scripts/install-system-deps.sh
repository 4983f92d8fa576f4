#!/usr/bin/env bash
# Installs the system packages mybuild and its tests use, from Debian's archive. Idempotent.
#   runc            the OCI runtime RUN steps and `mybuild run` use
#   docker-registry the real distribution registry the registry tests start on 127.0.0.1
#   skopeo umoci    read mybuild's outputs back in the tests
#   busybox-static  the fixture base image (scripts/make-busybox-base.sh)
#   zstd pigz       zstd layers; pigz is the compression peer in bench/
#   apache2-utils   htpasswd (bcrypt) for the registry auth tests
#   tmux            drives the tty progress view in a pseudo-terminal in the tests
#   attr            setfattr/getfattr: overlay opaque xattrs and PAX xattrs in src/runtime
#   slirp4netns     the default (user-mode) network of RUN steps and `mybuild run`
#   uidmap          newuidmap/newgidmap: rootless mode's subordinate id ranges
#   debootstrap     the Debian base of the apt-in-RUN test (scripts/make-debian-base.sh)
set -euo pipefail
PKGS="runc docker-registry skopeo umoci busybox-static jq zstd pigz tmux ca-certificates curl openssl apache2-utils attr slirp4netns uidmap debootstrap"
missing=()
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-system-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "install-system-deps: installing ${missing[*]}"
# docker-registry's postinst would start a system service on :5000; forbid service starts
# during the install (the tests start their own registry on a free port).
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
trap '[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
