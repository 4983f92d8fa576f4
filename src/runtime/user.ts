/**
 * Resolves `USER` and `--chown` specs (`name`, `uid`, `name:group`, `uid:gid`, `uid:group`, …)
 * through a rootfs's /etc/passwd and /etc/group, with the semantics of runc's
 * libcontainer/user.GetExecUser (which Docker and BuildKit use):
 * - a user name must exist in passwd; a numeric uid need not (its primary gid is then the one of
 *   a passwd entry with that uid, else 0);
 * - an explicit group (name or number) sets the gid and there are no supplementary groups;
 *   without one, the supplementary groups are those of /etc/group listing the user's name;
 * - the files are opened through a secure join, so a symlinked /etc stays inside the rootfs.
 */
import { readFile } from 'node:fs/promises';
import { BuildError } from '../errors.js';
import { secureJoin } from './secure-join.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups (only for the implicit-group form), in /etc/group order. */
  additionalGids: number[];
  /** The passwd entry's name and home, when one matched. */
  name?: string;
  home?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

/** Parses passwd text (`name:pass:uid:gid:gecos:home:shell`), skipping comments and bad lines. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const f = l.split(':');
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f.length < 4 || !/^\d+$/.test(f[2] ?? '') || !/^\d+$/.test(f[3] ?? '')) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '' });
  }
  return out;
}

/** Parses group text (`name:pass:gid:member,member`), skipping comments and bad lines. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const f = l.split(':');
    if (f.length < 3 || !/^\d+$/.test(f[2])) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '') });
  }
  return out;
}

function numeric(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  if (n > MAX_ID) throw new BuildError('INVALID_ARGUMENT', `invalid user/group id "${s}": uids and gids must be in range 0-${MAX_ID}`);
  return n;
}

/**
 * Resolves `spec` against the given file contents (undefined = file absent). Pure. Throws
 * BuildError INVALID_ARGUMENT `unable to find user X: no matching entries in passwd file` (or the
 * group equivalent) for unknown names.
 */
export function resolveUserFrom(spec: string, passwd: string | undefined, group: string | undefined): ResolvedUser {
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);
  const users = parsePasswd(passwd ?? '');
  const out: ResolvedUser = { uid: 0, gid: 0, additionalGids: [] };

  if (userArg !== '') {
    const uidNum = numeric(userArg);
    const byName = users.find((u) => u.name === userArg);
    const match = byName ?? (uidNum !== undefined ? users.find((u) => u.uid === uidNum) : undefined);
    if (match) {
      out.uid = match.uid;
      out.gid = match.gid;
      out.name = match.name;
      out.home = match.home;
    } else if (uidNum !== undefined) {
      out.uid = uidNum;
    } else {
      throw new BuildError('INVALID_ARGUMENT', `unable to find user ${userArg}: no matching entries in passwd file`, {
        hint: 'add the user to /etc/passwd in an earlier step (e.g. RUN adduser), or use a numeric uid',
      });
    }
  }

  const groups = parseGroup(group ?? '');
  if (groupArg !== '') {
    const byName = groups.find((g) => g.name === groupArg);
    const gidNum = numeric(groupArg);
    if (byName) out.gid = byName.gid;
    else if (gidNum !== undefined) out.gid = gidNum;
    else {
      throw new BuildError('INVALID_ARGUMENT', `unable to find group ${groupArg}: no matching entries in group file`, {
        hint: 'add the group to /etc/group in an earlier step, or use a numeric gid',
      });
    }
  } else if (out.name !== undefined) {
    for (const g of groups) if (g.members.includes(out.name) && !out.additionalGids.includes(g.gid)) out.additionalGids.push(g.gid);
  }
  return out;
}

async function readInRoot(rootfs: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(secureJoin(rootfs, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
}

/**
 * Resolves `spec` through `<rootfs>/etc/passwd` and `<rootfs>/etc/group` (read through a secure
 * join; absent files are empty). Errors as `resolveUserFrom`.
 */
export async function resolveUser(rootfs: string, spec: string): Promise<ResolvedUser> {
  return resolveUserFrom(spec, await readInRoot(rootfs, '/etc/passwd'), await readInRoot(rootfs, '/etc/group'));
}

/** BuildKit's llb parseUID: `root` is 0, else a base-10 int32. */
function fileOpId(s: string): number | undefined {
  if (s === 'root') return 0;
  if (!/^\d+$/.test(s) || Number(s) > MAX_ID) return undefined;
  return Number(s);
}

/**
 * The owner BuildKit's file operations (WORKDIR's mkdir; llb.WithUser, then the solver's
 * readUser) give a `user[:group]` spec, which differs from a process user: a numeric user (or
 * `root`) is uid and gid at once; a name takes uid and gid from passwd, and is 0:0 when passwd
 * lacks it or is absent (no error); a group (number, `root`, or a name found in group) sets the
 * gid, an unknown group name leaves it. Pure.
 */
export function fileOwnerFrom(spec: string, passwd: string | undefined, group: string | undefined): { uid: number; gid: number } {
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const out = { uid: 0, gid: 0 };
  const uid = fileOpId(userArg);
  if (uid !== undefined) {
    out.uid = uid;
    out.gid = uid;
  } else {
    const match = parsePasswd(passwd ?? '').find((u) => u.name === userArg);
    if (match) {
      out.uid = match.uid;
      out.gid = match.gid;
    }
  }
  if (colon >= 0) {
    const groupArg = spec.slice(colon + 1);
    const gid = fileOpId(groupArg);
    if (gid !== undefined) out.gid = gid;
    else {
      const match = parseGroup(group ?? '').find((g) => g.name === groupArg);
      if (match) out.gid = match.gid;
    }
  }
  return out;
}

/** `fileOwnerFrom` with the rootfs's /etc/passwd and /etc/group (read through a secure join). */
export async function fileOwner(rootfs: string, spec: string): Promise<{ uid: number; gid: number }> {
  return fileOwnerFrom(spec, await readInRoot(rootfs, '/etc/passwd'), await readInRoot(rootfs, '/etc/group'));
}
