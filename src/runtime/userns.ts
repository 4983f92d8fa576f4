/**
 * Rootless mode: a user without root runs mybuild inside a user namespace of its own, where it
 * is uid 0, as rootless Podman and rootlesskit (BuildKit) do. The namespace maps 0 to the user
 * and 1…65536 to the user's subordinate range from /etc/subuid and /etc/subgid (written by
 * newuidmap/newgidmap from Debian's `uidmap`, through util-linux `unshare --map-users`); without
 * a range only 0 is mapped. A mount namespace comes with it (private propagation), so the mounts
 * of snapshots and steps stay there. Inside, mounts, chown to in-image ids and runc work as
 * for root; files written as uid 0 belong to the user on the host, so layers hold in-image
 * owners (0:0, 65534, …) and never the host user's ids.
 *
 * `rootlessCommand()` gives the command that re-runs mybuild that way (src/main.ts spawns it);
 * `inUserNamespace()` says whether this process runs in such a namespace.
 */
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import os from 'node:os';

/** A subordinate id range (`/etc/subuid` line `user:start:count`). */
export interface SubIdRange {
  start: number;
  count: number;
}

/** The ranges of `user` (by name or numeric uid) in a subuid/subgid file's text. */
export function parseSubIds(text: string, user: string, id: number): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who === undefined || start === undefined || count === undefined) continue;
    if (who !== user && who !== String(id)) continue;
    if (!/^\d+$/.test(start) || !/^\d+$/.test(count)) continue;
    out.push({ start: Number(start), count: Number(count) });
  }
  return out;
}

/** Whether this process runs in a user namespace other than the initial one. */
export function inUserNamespace(): boolean {
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return !(map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295');
  } catch {
    return false;
  }
}

/** How many ids are mapped in this process' user namespace (uid_map), 4294967295 outside one. */
export function mappedIdCount(): number {
  try {
    return readFileSync('/proc/self/uid_map', 'utf8')
      .split('\n')
      .map((l) => Number(l.trim().split(/\s+/)[2] ?? 0))
      .reduce((a, b) => a + b, 0);
  } catch {
    return 0;
  }
}

/** The ids mapped inside: 65536 (0 + a range of 65536) or 1 (no range). */
export const ROOTLESS_RANGE = 65536;

export interface RootlessPlan {
  /** argv (program first) that runs `inner` in the namespace. */
  argv: string[];
  /** Subordinate ranges used (absent: a one-id mapping). */
  uids?: SubIdRange;
  gids?: SubIdRange;
  /** Why the mapping has only uid 0, when it does. */
  note?: string;
}

/**
 * The command that runs `inner` (argv) in a new user + mount namespace: see the module
 * comment. `setpriv --pdeathsig KILL` makes it die with the calling process (no leftover when
 * mybuild is killed). `files` lets tests give other subuid/subgid texts.
 */
export function rootlessCommand(inner: string[], files: { subuid?: string; subgid?: string; haveNewuidmap?: boolean } = {}): RootlessPlan {
  const uid = process.getuid!();
  const gid = process.getgid!();
  const user = os.userInfo().username;
  const read = (p: string): string => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  const uids = parseSubIds(files.subuid ?? read('/etc/subuid'), user, uid).find((r) => r.count >= ROOTLESS_RANGE);
  const gids = parseSubIds(files.subgid ?? read('/etc/subgid'), user, uid).find((r) => r.count >= ROOTLESS_RANGE);
  const newuidmap = files.haveNewuidmap ?? (exists('/usr/bin/newuidmap') && exists('/usr/bin/newgidmap'));
  const base = ['setpriv', '--pdeathsig', 'KILL', '--', 'unshare', '--user', '--mount', '--propagation', 'private'];
  if (uids && gids && newuidmap) {
    return {
      argv: [...base, '--map-user=0', '--map-group=0', `--map-users=${uids.start},1,${ROOTLESS_RANGE}`, `--map-groups=${gids.start},1,${ROOTLESS_RANGE}`, '--', ...inner],
      uids,
      gids,
    };
  }
  const note = !uids || !gids
    ? `no subordinate id range for ${user} in ${!uids ? '/etc/subuid' : '/etc/subgid'}: only uid 0 is mapped (add one: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user})`
    : 'newuidmap/newgidmap are missing (apt-get install uidmap): only uid 0 is mapped';
  return { argv: [...base, '--map-root-user', '--', ...inner], note };
}

function exists(p: string): boolean {
  try {
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The xattr namespace of overlayfs' own bookkeeping (opaque directories): `trusted.overlay.`
 * as root, `user.overlay.` in a user namespace, where trusted.* is not writable and overlayfs is
 * mounted with `userxattr`.
 */
export function overlayXattrPrefix(): string {
  return inUserNamespace() ? 'user.overlay.' : 'trusted.overlay.';
}

/**
 * The fixed overlay mount options (the differ reads the upperdir as plain files, whiteouts and
 * opaque directories only): index, redirect_dir and metacopy off; in a user namespace
 * `userxattr` instead of `redirect_dir=off`, which the kernel refuses there (userxattr implies
 * redirect_dir=nofollow).
 */
export function overlayFixedOptions(): string[] {
  return inUserNamespace() ? ['userxattr', 'index=off', 'metacopy=off'] : ['index=off', 'redirect_dir=off', 'metacopy=off'];
}
