/**
 * Symlink resolution confined to a root directory: the rule COPY sources follow (and the
 * Dockerfile and ignore file, ./build-files.ts). A path is walked component by component;
 * `..` may not climb above the root; a relative link target is taken from the link's directory,
 * an absolute one only when it names a host path inside the root; a link whose target leaves
 * the root is never followed. Pure resolution: the callers turn the outcome into their errors.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

const MAX_SYMLINKS = 40;

/** What walking a context-relative path inside `root` found. */
export type RootWalk =
  /** Resolved: `path` is root-relative ("" is the root) and its components are no symlinks (the last one may be, without followFinal). */
  | { kind: 'found'; path: string }
  /** A component does not exist (or is not a directory); `path` is the path as far as it resolved, with the rest appended. */
  | { kind: 'missing'; path: string }
  /** `..` or a symlink leaves the root; `link` is "name -> target" of the symlink that did. */
  | { kind: 'outside'; link?: string }
  | { kind: 'loop' }
  /** lstat failed otherwise (EACCES, …) on `path`. */
  | { kind: 'error'; path: string; error: Error };

/**
 * Walks the normalised root-relative `rel` ("a/b", no leading slash) inside the real directory
 * `root`. Intermediate symlinks are always followed (inside the root), the last component only
 * with `followFinal`.
 */
export async function walkInRoot(root: string, rel: string, opts: { followFinal?: boolean } = {}): Promise<RootWalk> {
  const abs = (r: string) => (r === '' ? root : path.join(root, ...r.split('/')));
  const pending = rel === '' ? [] : rel.split('/');
  const done: string[] = [];
  let links = 0;
  let lastLink: string | undefined;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.' || name === '') continue;
    if (name === '..') {
      if (done.length === 0) return { kind: 'outside', link: lastLink };
      done.pop();
      continue;
    }
    const cur = [...done, name].join('/');
    let isLink: boolean;
    try {
      isLink = (await fsp.lstat(abs(cur))).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing', path: [cur, ...pending].join('/') };
      return { kind: 'error', path: cur, error: err as Error };
    }
    if (isLink && (pending.length > 0 || opts.followFinal)) {
      if (++links > MAX_SYMLINKS) return { kind: 'loop' };
      const target = await fsp.readlink(abs(cur));
      lastLink = `${cur} -> ${target}`;
      if (path.isAbsolute(target)) {
        // Allowed only when it names a path inside the root on this host.
        const r = path.relative(root, path.resolve(target));
        if (r === '..' || r.startsWith('..' + path.sep) || path.isAbsolute(r)) return { kind: 'outside', link: lastLink };
        done.length = 0;
        pending.unshift(...(r === '' ? [] : r.split(path.sep)));
      } else {
        // Relative to the link's directory; `..` is checked component by component above.
        pending.unshift(...target.split('/'));
      }
      continue;
    }
    done.push(name);
  }
  return { kind: 'found', path: done.join('/') };
}
