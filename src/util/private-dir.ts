/**
 * Directories with an exact mode. `mkdir`'s mode is masked by the umask (and `recursive`
 * gives every parent it makes the same masked mode), so a directory that must be closed to
 * other users is chmod-ed after it is made: {@link mkdirMode} makes the missing part of a path
 * and sets `mode` on each directory it made (never on one that was already there).
 */
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** The directories from `first` (the first one `mkdir -p` made) down to `dir`. */
function madeDirs(first: string | undefined, dir: string): string[] {
  if (first === undefined) return [];
  const out: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    out.push(d);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
  return out.reverse();
}

/** `mkdir -p dir`, then `chmod mode` on every directory it made (default 0700). Returns `dir`. */
export async function mkdirMode(dir: string, mode = 0o700): Promise<string> {
  const first = await mkdir(dir, { recursive: true, mode });
  for (const d of madeDirs(first, dir)) await chmod(d, mode);
  return dir;
}
