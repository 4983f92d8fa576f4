/**
 * A Debian 12 root filesystem tarball for tests that run apt in a RUN step, made by
 * scripts/make-debian-base.sh (debootstrap from deb.debian.org) once per script version into
 * `${TMPDIR:-/tmp}/mybuild-fixtures/debian-bookworm-<sha256(script)[:16]>.tar` and reused.
 *
 *     const skip = await debianBaseSkipReason();   // string when it cannot be made here
 *     const tar = await ensureDebianBase();        // mybuild import <tar> debian:bookworm
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { hostReaches } from './host-network.js';
import { repoRoot } from './paths.js';

const run = promisify(execFile);
const script = path.join(repoRoot, 'scripts', 'make-debian-base.sh');

export function debianBasePath(): string {
  const hash = createHash('sha256').update(readFileSync(script)).digest('hex').slice(0, 16);
  return path.join(process.env.TMPDIR || os.tmpdir(), 'mybuild-fixtures', `debian-bookworm-${hash}.tar`);
}

/** Why the tarball cannot be had here (not root, no debootstrap, mirror unreachable), or false. */
export async function debianBaseSkipReason(): Promise<string | false> {
  if (existsSync(debianBasePath())) return false;
  if (process.getuid?.() !== 0) return 'making the Debian base (debootstrap) needs root';
  if (!['/usr/sbin/debootstrap', '/usr/bin/debootstrap'].some((p) => existsSync(p))) return 'debootstrap is not installed (scripts/install-system-deps.sh)';
  if (!(await hostReaches())) return 'the host cannot reach deb.debian.org';
  return false;
}

let pending: Promise<string> | undefined;

/** The tarball's path, made on first use (a few minutes: debootstrap downloads ~40 MB). */
export function ensureDebianBase(): Promise<string> {
  pending ??= (async () => {
    const out = debianBasePath();
    if (existsSync(out)) return out;
    await mkdir(path.dirname(out), { recursive: true });
    await run('bash', [script, out], { maxBuffer: 16 << 20 });
    return out;
  })();
  pending.catch(() => (pending = undefined));
  return pending;
}
