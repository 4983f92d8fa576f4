/**
 * Where the files of RUN --mount=type=secret live while their step runs: `<root>/secrets/`, one
 * directory per step named `<pid>-<process start time>-<random>` (a tmpfs mounted there by
 * src/runtime/secrets.ts when mybuild is root). A build removes its own directory when the
 * step ends; one whose owner is dead (a SIGKILLed build; the start time tells a reused pid) is
 * a leftover: the next build removes it (removeLeftoverSecrets) and `system check` names its
 * files until then (gc.ts), as it names the copies earlier versions left under `<root>/tmp`
 * (removed with the rest of `tmp` by the next build that cleans after killed ones, stale.ts).
 * This module only names and finds them; it never mounts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pidAlive, processStartTime } from './fs-util.js';
import { storeLayout } from './layout.js';

/** `<root>/secrets`. */
export function secretsRoot(root: string): string {
  return storeLayout(root).secrets;
}

/** A fresh name for this process's next step directory. */
export async function secretsDirName(): Promise<string> {
  return `${process.pid}-${(await processStartTime(process.pid)) || '0'}-${randomBytes(6).toString('hex')}`;
}

/** Whether the process that made step directory `name` still runs (same pid, same start time). */
export async function secretsOwnerAlive(name: string): Promise<boolean> {
  const m = /^(\d+)-(\d+)-[0-9a-f]+$/.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  if (!pidAlive(pid)) return false;
  const got = await processStartTime(pid);
  return got === '' || m[2] === '0' || got === m[2];
}

/** The step directories under `<root>/secrets` whose owner is dead (absolute paths). */
export async function leftoverSecretDirs(root: string): Promise<string[]> {
  const dir = secretsRoot(root);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const n of names) if (!(await secretsOwnerAlive(n))) out.push(path.join(dir, n));
  return out;
}

/**
 * The files (any depth) in leftover step directories: what a killed build left in plaintext;
 * and the `<root>/tmp/run-XXXXXX/secret-N` files earlier versions wrote (no build writes there now).
 */
export async function leftoverSecretFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  for (const d of await leftoverSecretDirs(root)) await walk(d);
  const tmp = storeLayout(root).tmp;
  for (const run of (await fs.readdir(tmp).catch(() => [] as string[])).filter((n) => n.startsWith('run-'))) {
    for (const f of await fs.readdir(path.join(tmp, run)).catch(() => [] as string[])) if (/^secret-\d+$/.test(f)) out.push(path.join(tmp, run, f));
  }
  return out;
}
