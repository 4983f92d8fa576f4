/**
 * Mounts as containerd describes them (`type`, `source`, `options`) and the helpers that mount
 * and unmount them through the `mount`/`umount` binaries. Every mount made here must be undone
 * by `unmountAll`. Each mount point is registered with the process's watchdog (watchdog.ts), so
 * a killed process leaves none behind, unless `{ tied: false }` (a daemon container's rootfs,
 * which outlives the daemon); `cleanupStale` in executor.ts and `system check --repair` remove
 * what is left otherwise.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execCapture, execChecked } from './exec.js';
import { tieMount, untieMounts } from './watchdog.js';

/** One mount: `mount -t type -o options source target`. */
export interface Mount {
  /** `overlay`, `bind`, `tmpfs`, … */
  type: string;
  source: string;
  /** Where, inside the rootfs, for extra mounts; rootfs mounts leave it out. */
  target?: string;
  options: string[];
}

export interface MountOptions {
  /** Unmount it if this process dies (default true; see the module comment). */
  tied?: boolean;
}

/** The kernel limits mount data to one page; long lowerdir lists are mounted relative to a common dir. */
const MAX_MOUNT_DATA = 4000;

function commonDir(dirs: string[]): string {
  let prefix = dirs[0];
  for (const d of dirs) {
    while (!(d === prefix || d.startsWith(prefix.endsWith('/') ? prefix : prefix + '/'))) prefix = path.dirname(prefix);
  }
  return prefix;
}

/**
 * Mounts `m` on `target` (which must exist). Overlay mounts whose option string is too long
 * are mounted with paths relative to the layers' common directory (the `mount` child runs
 * there), as containerd does. Throws BuildError `IO` with mount's message on failure.
 */
export async function mountOne(m: Mount, target: string, opts: MountOptions = {}): Promise<void> {
  // Before mounting: a kill during mount(8) leaves nothing either.
  if (opts.tied !== false) tieMount(target);
  const isBind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
  let options = m.options.filter((o) => o !== 'bind' && o !== 'rbind');
  let cwd: string | undefined;
  if (m.type === 'overlay' && options.join(',').length > MAX_MOUNT_DATA) {
    const dirs: string[] = [];
    for (const o of options) {
      const [k, v] = splitOpt(o);
      if (k === 'lowerdir') dirs.push(...v.split(':'));
      else if (k === 'upperdir' || k === 'workdir') dirs.push(v);
    }
    cwd = commonDir(dirs);
    const rel = (p: string): string => path.relative(cwd!, p);
    options = options.map((o) => {
      const [k, v] = splitOpt(o);
      if (k === 'lowerdir') return `lowerdir=${v.split(':').map(rel).join(':')}`;
      if (k === 'upperdir' || k === 'workdir') return `${k}=${rel(v)}`;
      return o;
    });
  }
  if (isBind) {
    // util-linux >= 2.27 makes a read-only bind in one command (bind, then the remount that
    // applies `ro`): one process instead of two per read-only view.
    const ro = options.includes('ro');
    await execChecked('mount', ['--rbind', ...(ro ? ['-o', 'ro'] : []), m.source, target], { pkg: 'mount' });
    return;
  }
  // fuse-overlayfs (a FUSE program, no page limit on its options) mounts by itself; umount undoes it.
  if (m.type === 'fuse-overlayfs') {
    await execChecked('fuse-overlayfs', ['-o', options.join(','), target], { pkg: 'fuse-overlayfs' });
    return;
  }
  const args = ['-t', m.type];
  if (options.length) args.push('-o', options.join(','));
  args.push(m.source, target);
  await execChecked('mount', args, { cwd, pkg: 'mount' });
}

function splitOpt(o: string): [string, string] {
  const i = o.indexOf('=');
  return i < 0 ? [o, ''] : [o.slice(0, i), o.slice(i + 1)];
}

/** Mounts each of `mounts` on `target` in order (later ones stack on earlier ones). */
export async function mountAll(mounts: Mount[], target: string, opts: MountOptions = {}): Promise<void> {
  for (const m of mounts) await mountOne(m, target, opts);
}

/**
 * Unmounts everything mounted at or below `target`, deepest first (lazy detach as a last
 * resort). Idempotent: nothing mounted is no error.
 */
export async function unmountAll(target: string): Promise<void> {
  for (let i = 0; i < 32; i++) {
    const points = (await mountPointsUnder(target)).sort((a, b) => b.length - a.length);
    if (points.length === 0) {
      untieMounts(target);
      return;
    }
    for (const p of points) {
      const r = await execCapture('umount', [p]);
      if (r.code !== 0) await execCapture('umount', ['-l', p]);
    }
  }
}

/** Mount points at or below `dir`, from /proc/self/mountinfo (octal escapes decoded). */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const base = path.resolve(dir);
  const out: string[] = [];
  for (const line of info.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const mp = f[4].replace(/\\([0-7]{3})/g, (_s, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === base || mp.startsWith(base + '/')) out.push(mp);
  }
  return out;
}
