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
#   tini            docker-init for the daemon's --init containers
#   docker-compose  the daemon's Compose test (test/daemon/container-ops.test.ts)
#   openssh-client  ssh-agent and ssh-add: `build --ssh id=KEYFILE` runs a private agent holding
#                   the keys; the ssh tests make keys with ssh-keygen
#   python3-docker python3-pytest python3-pytest-timeout python3-paramiko
#                   docker-py's own integration suite against the daemon (test/daemon/docker-py.test.ts,
#                   ../shared/conformance/docker-py/run.sh); paramiko is imported by its test helpers
#   qemu-user-static binfmt-support
#                   RUN steps of foreign platforms (--platform linux/arm64 on amd64): QEMU's static
#                   user emulators, registered with binfmt_misc with the F flag (the kernel opens
#                   the interpreter at registration, so it works inside a container's rootfs)
# Also: the foreign architecture (arm64 on amd64, amd64 on arm64) is added to dpkg, so that
# scripts/make-busybox-multiarch.sh can `apt-get download busybox-static:<arch>` for the
# multi-platform fixture; and the emulators are registered even when every package is present
# (binfmt_misc registrations do not survive a reboot without systemd-binfmt).
set -euo pipefail
PKGS="runc docker-registry skopeo umoci busybox-static jq zstd pigz tmux ca-certificates curl openssl apache2-utils attr slirp4netns uidmap debootstrap qemu-user-static binfmt-support tini docker-compose openssh-client python3-docker python3-pytest python3-pytest-timeout python3-paramiko"

# Registers QEMU's binfmt_misc handlers (qemu-user-static's /usr/share/binfmts entries, flags PF)
# when they are not: mounts binfmt_misc if needed, then update-binfmts --enable. Root only.
register_binfmt() {
  [ "$(id -u)" = 0 ] || return 0
  [ -d /proc/sys/fs/binfmt_misc ] || return 0
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || {
    echo "install-system-deps: cannot mount binfmt_misc: foreign-platform RUN steps will be refused" >&2
    return 0
  }
  command -v update-binfmts >/dev/null || return 0
  for f in /usr/share/binfmts/qemu-*; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    [ -e "/proc/sys/fs/binfmt_misc/$name" ] || update-binfmts --enable "$name" >/dev/null 2>&1 ||
      echo "install-system-deps: update-binfmts --enable $name failed" >&2
  done
}

# The other architecture of the multi-platform fixture, for `apt-get download busybox-static:<arch>`.
foreign_arch() {
  case "$(dpkg --print-architecture)" in amd64) echo arm64 ;; arm64) echo amd64 ;; esac
}
need_update=0
fa=$(foreign_arch)
if [ -n "$fa" ] && ! dpkg --print-foreign-architectures | grep -qx "$fa"; then
  if [ "$(id -u)" = 0 ]; then
    dpkg --add-architecture "$fa"
    need_update=1
  else
    echo "install-system-deps: dpkg lacks the $fa architecture (run as root: dpkg --add-architecture $fa && apt-get update)" >&2
  fi
fi
missing=()
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  [ $need_update = 1 ] && apt-get update -qq
  register_binfmt
  exit 0
fi
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
register_binfmt
