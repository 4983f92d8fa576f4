/**
 * Extended attributes through `getfattr`/`setfattr` (Debian package `attr`, listed in
 * scripts/install-system-deps.sh): Node has no xattr calls and we take no native dependency.
 * One `getfattr -R` dumps a whole tree, so a diff costs one process, not one per file.
 */
import { execCapture, execChecked } from './exec.js';

/** Sets `name` to `value` on `file` without following a final symlink. Throws BuildError `IO`. */
export async function setXattr(file: string, name: string, value: Buffer): Promise<void> {
  await execChecked('setfattr', ['-h', '-n', name, '-v', '0x' + value.toString('hex'), '--', file], { pkg: 'attr' });
}

/**
 * Every xattr (all namespaces the caller may read: as root that includes `trusted.*`) of every
 * path at or below `dir`, keyed by absolute path. Symlinks are not followed. Paths without
 * xattrs are absent. Throws BuildError `RUNTIME` when getfattr is missing.
 */
export async function readXattrsTree(dir: string): Promise<Map<string, Record<string, Buffer>>> {
  const r = await execCapture('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', dir], { pkg: 'attr' });
  // getfattr exits 1 when some file had an error (e.g. vanished); keep what it printed.
  return parseGetfattr(r.stdout.toString('latin1'));
}

/** Xattrs of one path (no symlink following). */
export async function readXattrs(file: string): Promise<Record<string, Buffer>> {
  const r = await execCapture('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', file], { pkg: 'attr' });
  return parseGetfattr(r.stdout.toString('latin1')).get(file) ?? {};
}

/** getfattr escapes unusual bytes in file names as `\ooo`; names are bytes (we read latin1). */
function unescapeName(s: string): string {
  const bytes = Buffer.from(s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))).replace(/\\\\/g, '\\'), 'latin1');
  return bytes.toString('utf8');
}

function parseGetfattr(text: string): Map<string, Record<string, Buffer>> {
  const out = new Map<string, Record<string, Buffer>>();
  let current: Record<string, Buffer> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      out.set(unescapeName(line.slice('# file: '.length)), current);
      continue;
    }
    if (!current || line === '') continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    const raw = eq < 0 ? '' : line.slice(eq + 1);
    let value: Buffer;
    if (raw.startsWith('0x')) value = Buffer.from(raw.slice(2), 'hex');
    else if (raw.startsWith('"') && raw.endsWith('"')) value = Buffer.from(raw.slice(1, -1), 'latin1');
    else value = Buffer.alloc(0);
    current[unescapeName(name)] = value;
  }
  return out;
}
