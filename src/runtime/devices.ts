/**
 * The host facts a privileged container spec needs: the host's device nodes (as containerd's
 * `oci.HostDevices` lists them for `--privileged`) and the capabilities this process may grant.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LinuxDevice } from './spec.js';

/** Parts of /dev that are mounts of their own in a container, not devices to copy (containerd's list). */
const SKIP = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Every character and block device under /dev (recursively, links not followed). */
export function hostDevices(dir = '/dev'): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = path.join(dir, name);
    if (dir === '/dev' && SKIP.has(name)) continue;
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) out.push(...hostDevices(p));
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      // glibc's gnu_dev_major/gnu_dev_minor.
      const rdev = BigInt(st.rdev);
      const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      out.push({ path: p, type: st.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid });
    }
  }
  return out;
}

/**
 * The capability numbers in our own bounding set (/proc/self/status CapBnd): a privileged
 * container gets all of them, as dockerd grants every capability it holds; one we lack cannot
 * be granted (runc: "unable to apply caps"). Undefined when it cannot be read.
 */
export function boundingCapabilities(): number[] | undefined {
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return undefined;
    const mask = BigInt(`0x${m[1]}`);
    const out: number[] = [];
    for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(i);
    return out;
  } catch {
    return undefined;
  }
}
