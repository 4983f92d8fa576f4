#!/bin/sh
# The mybuild command: the package's bin, copied to dist/bin/mybuild by scripts/bundle-cli.mjs.
# Node reads and parses every certificate named by NODE_EXTRA_CA_CERTS when it starts (~40 ms
# for Debian's bundle), before any of mybuild runs, and most commands open no TLS connection.
# The variable is handed over as MYBUILD_EXTRA_CA_CERTS instead, which mybuild adds to the
# roots it trusts when it does open one (registries, ADD of https URLs): src/util/trust.ts.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  MYBUILD_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS
  export MYBUILD_EXTRA_CA_CERTS
  unset NODE_EXTRA_CA_CERTS
fi
self=$0
if [ -L "$self" ]; then self=$(readlink -f "$self"); fi
case $self in */*) dir=${self%/*} ;; *) dir=. ;; esac
exec node "$dir/mybuild.cjs" "$@"
