/**
 * Named volumes (dockerd's `local` driver) under `<root>/volumes/<name>/`: `volume.json` (the
 * record: driver, labels, options, creation time) and `_data` (the content, what containers
 * mount). Anonymous volumes are named volumes with a random 64-hex name and the label
 * `com.docker.volume.anonymous` (as dockerd marks them).
 *
 * The local driver's options are dockerd's: `type`, `device` and `o` (`mount -t TYPE -o O
 * DEVICE _data`), mounted on the host when a container using the volume starts and unmounted
 * when the last such container exits, when the volume is removed and when the daemon stops;
 * any other option is refused. Content copy-up (the image's files at the mount point, copied
 * into an empty volume at a container's start) is `copyUp`.
 */
import { randomBytes } from 'node:crypto';
import { storeLayout } from '../store/layout.js';
import { chmod, chown, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AlreadyExistsError, BuildError, NotFoundError } from '../errors.js';
import { execChecked } from '../runtime/exec.js';
import { mountOne, mountPointsUnder, unmountAll } from '../runtime/mount.js';
import { secureJoin } from '../runtime/secure-join.js';
import { storeDir } from '../store/store-dirs.js';

/** The label dockerd sets on anonymous volumes. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
/** dockerd's volume name rule (at least two characters). */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const LOCAL_OPTIONS = new Set(['type', 'device', 'o']);

export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string> | null;
  options: Record<string, string> | null;
  /** RFC 3339. */
  createdAt: string;
}

export interface VolumeCreate {
  name?: string;
  driver?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

/** Throws NotFoundError for a driver other than `local` (dockerd: no such plugin). */
export function checkDriver(driver: string | undefined): void {
  if (driver && driver !== 'local') throw new NotFoundError(`error looking up volume plugin ${driver}: plugin "${driver}" not found`, { hint: 'mybuild has the local volume driver only' });
}

export class VolumeStore {
  readonly dir: string;
  private constructor(root: string) {
    this.dir = storeLayout(root).volumes;
  }

  static async open(root: string): Promise<VolumeStore> {
    const s = new VolumeStore(path.resolve(root));
    await storeDir(s.dir);
    return s;
  }

  /** The host directory containers mount for volume `name`. */
  dataPath(name: string): string {
    return path.join(this.dir, name, '_data');
  }

  /**
   * Creates a volume (a random name when none is given). An existing volume of the same name is
   * returned as it is when its driver matches, as dockerd does. Throws BuildError
   * INVALID_ARGUMENT (bad name or option), NotFoundError (driver).
   */
  async create(opts: VolumeCreate = {}): Promise<VolumeRecord> {
    checkDriver(opts.driver);
    const name = opts.name || randomBytes(32).toString('hex');
    if (!NAME_RE.test(name)) throw new BuildError('INVALID_ARGUMENT', `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    const options = opts.options && Object.keys(opts.options).length ? opts.options : null;
    for (const k of Object.keys(options ?? {})) if (!LOCAL_OPTIONS.has(k)) throw new BuildError('INVALID_ARGUMENT', `create ${name}: invalid option key: "${k}"`, { hint: 'the local driver takes type, device and o' });
    if (options && (!options.type || !options.device) && !(options.o ?? '').split(',').includes('bind')) throw new BuildError('INVALID_ARGUMENT', `create ${name}: the local driver's options need type and device`);
    const existing = await this.get(name).catch(() => undefined);
    if (existing) return existing;
    const record: VolumeRecord = { name, driver: 'local', labels: opts.labels && Object.keys(opts.labels).length ? opts.labels : null, options, createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    // Made under a temporary name, then renamed into place: a volume is never seen half made.
    const tmp = path.join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await mkdir(path.join(tmp, '_data'), { recursive: true });
    await chmod(path.join(tmp, '_data'), 0o755);
    await writeFile(path.join(tmp, 'volume.json'), JSON.stringify(record, null, 2));
    try {
      await rename(tmp, path.join(this.dir, name));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return this.get(name);
      throw err;
    }
    return record;
  }

  /** The record of volume `name`; NotFoundError when there is none. */
  async get(name: string): Promise<VolumeRecord> {
    if (!NAME_RE.test(name)) throw new NotFoundError(`get ${name}: no such volume`);
    try {
      return JSON.parse(await readFile(path.join(this.dir, name, 'volume.json'), 'utf8')) as VolumeRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`get ${name}: no such volume`, { hint: 'list them with GET /volumes (docker volume ls)' });
      throw err;
    }
  }

  async list(): Promise<VolumeRecord[]> {
    const out: VolumeRecord[] = [];
    for (const e of await readdir(this.dir).catch(() => [] as string[])) {
      if (e.startsWith('.')) continue;
      const r = await this.get(e).catch(() => undefined);
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Removes volume `name` (its mount first); the caller checks that no container uses it. NotFoundError when unknown. */
  async remove(name: string): Promise<void> {
    await this.get(name);
    const dir = path.join(this.dir, name);
    await unmountAll(this.dataPath(name));
    // Renamed away first: a concurrent create of the same name never sees half a volume.
    const gone = path.join(this.dir, `.rm-${randomBytes(6).toString('hex')}`);
    await rename(dir, gone);
    await rm(gone, { recursive: true, force: true });
  }

  /** Bytes of file content in the volume (GET /system/df). */
  async size(name: string): Promise<number> {
    let total = 0;
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) total += (await lstat(p)).size;
      }
    };
    await walk(this.dataPath(name));
    return total;
  }

  /** Mounts the volume's device (local driver options) on `_data` unless it is mounted already. */
  async mount(name: string): Promise<void> {
    const v = await this.get(name);
    if (!v.options) return;
    const data = this.dataPath(name);
    if ((await mountPointsUnder(data)).includes(data)) return;
    const o = (v.options.o ?? '').split(',').filter((x) => x !== '');
    const type = v.options.type && v.options.type !== 'none' ? v.options.type : 'bind';
    try {
      await mountOne({ type, source: v.options.device ?? 'none', options: o }, data, { tied: false });
    } catch (err) {
      throw new BuildError('INVALID_ARGUMENT', `error while mounting volume '${data}': ${(err as Error).message}`);
    }
  }

  /** Unmounts the volume's device (no-op for a plain volume). */
  async unmount(name: string): Promise<void> {
    await unmountAll(this.dataPath(name));
  }

  /** Unmounts every volume device (daemon shutdown). */
  async unmountEverything(): Promise<void> {
    for (const v of await this.list()) if (v.options) await this.unmount(v.name).catch(() => undefined);
  }

  /**
   * dockerd's copy-up: when volume `name` is empty, the content of `dir` (the image's files at
   * the mount point, inside the mounted rootfs `rootfs`) is copied into it with owners and
   * modes, and the volume's root takes the directory's owner and mode. Nothing happens when
   * the path is not a directory in the image.
   */
  async copyUp(name: string, rootfs: string, target: string): Promise<void> {
    const data = this.dataPath(name);
    if ((await readdir(data).catch(() => ['?'])).length > 0) return;
    const src = secureJoin(rootfs, target);
    const st = await stat(src).catch(() => undefined);
    if (!st?.isDirectory()) return;
    if ((await readdir(src)).length > 0) await execChecked('cp', ['-a', '--', `${src}/.`, `${data}/`], { pkg: 'coreutils' });
    await chown(data, st.uid, st.gid);
    await chmod(data, st.mode & 0o7777);
  }
}

/** dockerd's 409 for removing a volume that containers use. */
export function volumeInUse(name: string, ids: string[]): AlreadyExistsError {
  return new AlreadyExistsError(`remove ${name}: volume is in use - [${ids.join(', ')}]`, { hint: 'remove the containers that use it first (docker rm -v)' });
}
