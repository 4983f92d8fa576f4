/**
 * The fixture base image for tests: an OCI layout made by scripts/make-busybox-base.sh from the
 * host's busybox-static, built once per script version into
 * `${TMPDIR:-/tmp}/mybuild-fixtures/busybox-oci-<sha256(script)[:16]>` and reused.
 *
 *     const skip = baseImageSkipReason();            // string when it cannot be built
 *     const layout = await ensureBaseImage();         // use as `oci:${layout}:latest`
 */
import { createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';

const run = promisify(execFile);

/** The script that makes the image. */
export const baseImageScript = path.join(repoRoot, 'scripts', 'make-busybox-base.sh');

/** Where the cached layout lives for the current script version. */
export function baseImageDir(): string {
  const hash = createHash('sha256').update(readFileSync(baseImageScript)).digest('hex').slice(0, 16);
  return path.join(process.env.TMPDIR || os.tmpdir(), 'mybuild-fixtures', `busybox-oci-${hash}`);
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, tool)));
}

/** Why the base image cannot be built here (for `{ skip }`), or false when it can. */
export function baseImageSkipReason(): string | false {
  if (!existsSync(process.env.BUSYBOX ?? '/bin/busybox')) return '/bin/busybox is absent (install busybox-static: scripts/install-system-deps.sh)';
  for (const tool of ['tar', 'gzip', 'jq', 'sha256sum', 'bash']) {
    if (!onPath(tool)) return `${tool} is not on PATH (scripts/install-system-deps.sh)`;
  }
  return false;
}

let pending: Promise<string> | undefined;

/**
 * Returns the path of the busybox OCI layout (tag `latest`), building it on first use.
 * Idempotent and safe across concurrent test processes (each builds into its own temp dir and
 * renames it into place; the loser of the race discards its copy). Throws when the script fails.
 */
export function ensureBaseImage(): Promise<string> {
  pending ??= (async () => {
    const dir = baseImageDir();
    if (existsSync(path.join(dir, 'index.json'))) return dir;
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(path.dirname(dir), { recursive: true });
    try {
      await run('bash', [baseImageScript, tmp]);
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (existsSync(path.join(dir, 'index.json'))) return dir;
      throw err;
    }
    return dir;
  })();
  pending.catch(() => (pending = undefined));
  return pending;
}

/** The script that makes the multi-platform (amd64 + arm64) image from both busybox-static packages. */
export const multiArchImageScript = path.join(repoRoot, 'scripts', 'make-busybox-multiarch.sh');

/** Where the cached multi-platform layout lives for the current versions of both scripts. */
export function multiArchImageDir(): string {
  const hash = createHash('sha256').update(readFileSync(baseImageScript)).update(readFileSync(multiArchImageScript)).digest('hex').slice(0, 16);
  return path.join(process.env.TMPDIR || os.tmpdir(), 'mybuild-fixtures', `busybox-multiarch-${hash}`);
}

/**
 * Why the multi-platform base cannot be made here (for `{ skip }`), or false: what the
 * single-platform one needs, dpkg-deb, and the other architecture known to dpkg (so that
 * `apt-get download busybox-static:<arch>` can fetch it) unless the cache already has it.
 */
export function multiArchSkipReason(): string | false {
  if (existsSync(path.join(multiArchImageDir(), 'index.json'))) return false;
  const base = baseImageSkipReason();
  if (base) return base;
  if (!onPath('dpkg-deb') || !onPath('apt-get')) return 'dpkg-deb / apt-get are not on PATH (a Debian host is needed for the multi-platform fixture)';
  // The other architecture's busybox-static comes from apt: dpkg must know that architecture.
  const host = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const other = host === 'amd64' ? 'arm64' : 'amd64';
  if (process.env[`BUSYBOX_DEB_${other}`]) return false;
  const foreign = execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).split('\n');
  if (!foreign.includes(other)) return `dpkg does not know the ${other} architecture, so busybox-static:${other} cannot be downloaded (scripts/install-system-deps.sh adds it: dpkg --add-architecture ${other} && apt-get update)`;
  return false;
}

let pendingMulti: Promise<string> | undefined;

/**
 * Returns the path of the amd64 + arm64 busybox OCI layout (tag `latest`, an index), making it
 * on first use (scripts/make-busybox-multiarch.sh; it downloads the foreign busybox-static .deb
 * with apt). Cached and race-safe as `ensureBaseImage`. Throws when the script fails.
 */
export function ensureMultiArchBaseImage(): Promise<string> {
  pendingMulti ??= (async () => {
    const dir = multiArchImageDir();
    if (existsSync(path.join(dir, 'index.json'))) return dir;
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(path.dirname(dir), { recursive: true });
    try {
      await run('bash', [multiArchImageScript, tmp]);
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (existsSync(path.join(dir, 'index.json'))) return dir;
      throw err;
    }
    return dir;
  })();
  pendingMulti.catch(() => (pendingMulti = undefined));
  return pendingMulti;
}
