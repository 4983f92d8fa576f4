#!/usr/bin/env node
// mybuild's CLI loader (copied to dist/bin/mybuild.cjs by scripts/bundle-cli.mjs, which fills in
// BUNDLE_ID). It compiles the one-file bundle (dist/bin/mybuild-main.cjs) with V8's code cache:
// a warm no-op build took 103 ms without it and 81 ms with it (15 interleaved runs: the bundle's
// compile plus the functions compiled on first call). Node 20 has no built-in compile cache for
// user code (module.enableCompileCache is Node 22), so this is done by hand with vm.Script's
// cachedData, as v8-compile-cache did.
//
// The cache is per user ($XDG_CACHE_HOME/mybuild/code-cache, else ~/.cache/…), one file per
// bundle and command, so `build` gets a cache with the functions a build compiles. A file is
// used only when its owner is the current user; V8 rejects data from another V8 version or
// other flags, and the file name carries the bundle's content hash (V8 checks only the source
// length). Any failure here falls back to a plain compile: the cache only saves time.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire, wrap } = require('node:module');

const BUNDLE_ID = '__BUNDLE_ID__';
const bundle = path.join(__dirname, 'mybuild-main.cjs');
const source = fs.readFileSync(bundle, 'utf8');

/** The command word (the cache key): the first argument that is not a global option. */
function commandKey(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root' || a === '-H' || a === '--host') i++;
    else if (!a.startsWith('-')) return /^[a-z]{1,16}$/.test(a) ? a : 'build';
  }
  return 'build';
}

function cacheFile() {
  if (process.env.MYBUILD_CODE_CACHE === '0') return undefined;
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME ? path.join(process.env.HOME, '.cache') : undefined);
  if (!base || !path.isAbsolute(base)) return undefined;
  return path.join(base, 'mybuild', 'code-cache', `${BUNDLE_ID}-${process.version}-${process.arch}-${commandKey(process.argv.slice(2))}.bin`);
}

function readCache(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return undefined;
    return fs.readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A cache file of another bundle not read or written for this long is removed (7 days). */
const STALE_CACHE_MS = 7 * 24 * 3600 * 1000;

function writeCache(file, script) {
  try {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    fs.renameSync(tmp, file);
    // Caches of other bundles (an older install) are dead weight once unused for a while; two
    // installs used in turn (a checkout beside a global install, a before/after benchmark) must
    // not delete each other's cache at every start (each start then compiled the whole bundle).
    const now = Date.now();
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith(`${BUNDLE_ID}-`)) continue;
      const p = path.join(dir, f);
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (st && now - Math.max(st.mtimeMs, st.atimeMs) > STALE_CACHE_MS) fs.rmSync(p, { force: true });
    }
  } catch {
    // Best effort: a read-only or missing home only costs the next start its compile.
  }
}

const file = cacheFile();
const cachedData = file ? readCache(file) : undefined;
// No importModuleDynamically: a script compiled from cached data loses that callback in Node 20
// (every import() then threw ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING on warm runs only), and the
// option prints an ExperimentalWarning. scripts/bundle-cli.mjs refuses a bundle with an import().
const script = new vm.Script(wrap(source), { filename: bundle, cachedData });
// Written at exit, so the data holds the functions this command compiled while it ran; only
// after a run that succeeded, whose path is the common one (a first `build` that stopped at a
// Dockerfile error would leave a cache without most of the build's functions).
if (file && (!cachedData || script.cachedDataRejected)) {
  process.once('exit', (code) => {
    if (code === 0) writeCache(file, script);
  });
}

const mod = { exports: {}, filename: bundle, id: bundle, loaded: false };
script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, __dirname);
