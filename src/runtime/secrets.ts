/**
 * The files of one RUN step's secrets (RUN --mount=type=secret): a directory of its own under
 * `<root>/secrets` (see src/store/secrets-dir.ts for names and leftovers), with a tmpfs mounted
 * on it when mybuild is root, so a secret is never written to the store's disk; the files are
 * bind-mounted into the container from there. `close()` unmounts and removes it when the step
 * ends, whatever happened. A SIGKILLed build leaves its directory (and, with the tmpfs, a mount
 * holding the secret in memory): `removeLeftoverSecrets`, called when a build starts, unmounts
 * and removes the directories of dead processes; `system check` reports them until then.
 */
import { chown, rm, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { leftoverSecretDirs, secretsDirName, secretsRoot } from '../store/secrets-dir.js';
import { storeDir, STORE_DIR_MODE } from '../store/store-dirs.js';
import { execCapture } from './exec.js';
import { unmountAll } from './mount.js';
import { tieMount, tieRemoval } from './watchdog.js';

/** How a secret file is made: its mode (default 0400) and owner (default root). */
export interface SecretFileOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

export class StepSecrets {
  private n = 0;
  private closed = false;

  private constructor(
    /** The step's directory. */
    readonly dir: string,
    /** True when `dir` is a tmpfs (the secrets are in memory only). */
    readonly tmpfs: boolean,
    private readonly untie: () => void,
  ) {}

  /**
   * Makes the step's directory under `<root>/secrets` and, as root, mounts a tmpfs on it
   * (mode 0700, nosuid, nodev, noexec). Where the mount is refused the directory is used as it
   * is (0700 under the 0700 secrets directory, removed by `close` or by the next build).
   */
  static async open(root: string): Promise<StepSecrets> {
    const dir = path.join(secretsRoot(root), await secretsDirName());
    // The watchdog (watchdog.ts) unmounts and removes it if this process is killed.
    const untie = tieRemoval(dir);
    await storeDir(dir);
    let tmpfs = false;
    if (process.geteuid?.() === 0) {
      tieMount(dir);
      const r = await execCapture('mount', ['-t', 'tmpfs', '-o', `mode=${STORE_DIR_MODE.toString(8).padStart(4, '0')},nosuid,nodev,noexec`, 'mybuild-secrets', dir]);
      tmpfs = r.code === 0;
    }
    return new StepSecrets(dir, tmpfs, untie);
  }

  /** Writes one secret; returns the file's path (to bind-mount read-only into the container). */
  async add(data: Uint8Array, opts: SecretFileOptions = {}): Promise<string> {
    const file = path.join(this.dir, `secret-${this.n++}`);
    const mode = opts.mode ?? 0o400;
    await writeFile(file, data, { mode: 0o600, flag: 'wx' });
    if (opts.uid !== undefined || opts.gid !== undefined) await chown(file, opts.uid ?? 0, opts.gid ?? 0);
    await chmod(file, mode);
    return file;
  }

  /** Unmounts and removes the directory (idempotent, never throws). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await removeSecretsDir(this.dir);
    this.untie();
  }
}

async function removeSecretsDir(dir: string): Promise<void> {
  await unmountAll(dir).catch(() => undefined);
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** Unmounts and removes the step directories of dead processes under `<root>/secrets`; returns them. */
export async function removeLeftoverSecrets(root: string): Promise<string[]> {
  const dirs = await leftoverSecretDirs(root).catch(() => [] as string[]);
  for (const d of dirs) await removeSecretsDir(d);
  return dirs;
}
