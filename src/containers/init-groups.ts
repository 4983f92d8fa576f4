/**
 * Two start-time look-ups of container settings: the host's tini (`--init`, Debian's `tini`
 * package, as dockerd's `docker-init`) and `--group-add` names resolved through the rootfs'
 * /etc/group.
 */
import { access, readFile } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { BuildError } from '../errors.js';
import { parseGroup } from '../runtime/user.js';
import { secureJoin } from '../runtime/secure-join.js';

const INIT_CANDIDATES = ['/usr/bin/tini-static', '/usr/bin/docker-init', '/usr/bin/tini', '/usr/local/bin/tini', '/sbin/tini'];

/** The host's tini (static first: it runs in any rootfs). Throws BuildError INVALID_ARGUMENT when none is installed. */
export async function initBinary(): Promise<string> {
  for (const c of INIT_CANDIDATES) {
    if (await access(c, fsConstants.X_OK).then(() => true, () => false)) return c;
  }
  throw new BuildError('INVALID_ARGUMENT', '--init needs tini on the host (not found in /usr/bin)', { hint: 'apt-get install tini' });
}

/** GIDs of `groups` (numbers as is, names through `<rootfs>/etc/group`). Throws BuildError INVALID_ARGUMENT for an unknown name. */
export async function resolveGroups(rootfs: string, groups: string[]): Promise<number[]> {
  let table: { name: string; gid: number }[] | undefined;
  const out: number[] = [];
  for (const g of groups) {
    if (/^\d+$/.test(g)) {
      out.push(Number(g));
      continue;
    }
    table ??= parseGroup(await readFile(secureJoin(rootfs, 'etc/group'), 'utf8').catch(() => ''));
    const hit = table.find((e) => e.name === g);
    if (!hit) throw new BuildError('INVALID_ARGUMENT', `Unable to find group ${g}: no matching entries in group file`);
    out.push(hit.gid);
  }
  return out;
}
