/**
 * `RUN --mount` values (BuildKit's `instructions/commands_runmount.go`): parsed from their CSV
 * form into a MountSpec with BuildKit's validation and messages. Pure.
 */
import type { MountSharing, MountSpec, MountType } from './commands.js';
import { suggest, suggestLikeBuildKit } from './suggest.js';

/** Go's encoding/csv for one record (default settings). Throws a string on malformed input. */
function readCsvRecord(s: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw 'extraneous or missing " in quoted-field';
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i++];
      }
      if (i < s.length && s[i] !== ',') throw 'extraneous or missing " in quoted-field';
    } else {
      while (i < s.length && s[i] !== ',') {
        if (s[i] === '"') throw 'bare " in non-quoted-field';
        field += s[i++];
      }
    }
    fields.push(field);
    if (i >= s.length) return fields;
    i++; // the comma
  }
}

/** Go's strconv.ParseBool. */
function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** docker/go-units RAMInBytes: `64m`, `1g`, `512k`, `1024` (binary units, optional `b`/`ib`). */
function ramInBytes(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(v.trim());
  if (!m) return undefined;
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly MountSharing[] = ['shared', 'private', 'locked'];
const MOUNT_KEYS = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'size', 'env'];

/** A mount spec error: message and optional hint (the caller adds the range). */
export class MountSpecError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * Parses one `--mount` value (already expanded) into a MountSpec, with BuildKit's validation
 * (commands_runmount.go). Throws MountSpecError.
 */
export function parseMount(value: string): MountSpec {
  let fields: string[];
  try {
    fields = readCsvRecord(value);
  } catch (e) {
    throw new MountSpecError(`failed to parse csv mounts: ${String(e)}`);
  }
  const m: MountSpec = { type: 'bind', readOnly: false, required: false };
  const ro = { auto: true };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) applyMountFlag(m, ro, key, field);
    else applyMountOption(m, ro, key, field.slice(eq + 1), field);
  }
  validateMount(m, ro.auto);
  return m;
}

/** A field without `=` (`ro`, `rw`, `required`). */
function applyMountFlag(m: MountSpec, ro: { auto: boolean }, key: string, field: string): void {
  switch (key) {
    case 'readonly':
    case 'ro':
      m.readOnly = true;
      ro.auto = false;
      return;
    case 'readwrite':
    case 'rw':
      m.readOnly = false;
      ro.auto = false;
      return;
    case 'required':
      if (m.type === 'secret' || m.type === 'ssh') {
        m.required = true;
        return;
      }
      throw new MountSpecError(`unexpected key '${key}' for mount type '${m.type}'`);
    default:
      throw new MountSpecError(`invalid field '${field}' must be a key=value pair`);
  }
}

/** A `key=value` field. */
function applyMountOption(m: MountSpec, ro: { auto: boolean }, key: string, val: string, field: string): void {
  switch (key) {
    case 'type': {
      const t = val.toLowerCase() as MountType;
      if (!MOUNT_TYPES.includes(t)) {
        const near = suggestLikeBuildKit(val, MOUNT_TYPES);
        throw new MountSpecError(`unsupported mount type ${JSON.stringify(val)}`, near ? `did you mean ${near}?` : `one of ${MOUNT_TYPES.join(', ')}`);
      }
      m.type = t;
      break;
    }
    case 'from':
      m.from = val;
      break;
    case 'source':
    case 'src':
      m.source = val;
      break;
    case 'target':
    case 'dst':
    case 'destination':
      m.target = val;
      break;
    case 'readonly':
    case 'ro':
    case 'readwrite':
    case 'rw': {
      const b = parseGoBool(val);
      if (b === undefined) throw new MountSpecError(`invalid value for ${key}: ${val}`);
      m.readOnly = key === 'readonly' || key === 'ro' ? b : !b;
      ro.auto = false;
      break;
    }
    case 'required': {
      if (m.type !== 'secret' && m.type !== 'ssh') throw new MountSpecError(`unexpected key '${key}' for mount type '${m.type}'`);
      const b = parseGoBool(val);
      if (b === undefined) throw new MountSpecError(`invalid value for ${key}: ${val}`);
      m.required = b;
      break;
    }
    case 'size': {
      if (m.type !== 'tmpfs') throw new MountSpecError(`unexpected key '${key}' for mount type '${m.type}'`);
      const n = ramInBytes(val);
      if (n === undefined) throw new MountSpecError(`invalid value for ${key}: ${val}`);
      m.size = n;
      break;
    }
    case 'id':
      m.id = val;
      break;
    case 'sharing': {
      const s = val.toLowerCase() as MountSharing;
      if (!SHARING.includes(s)) throw new MountSpecError(`unsupported sharing value ${JSON.stringify(val)}`, `one of ${SHARING.join(', ')}`);
      m.sharing = s;
      break;
    }
    case 'mode': {
      if (!/^[0-7]+$/.test(val) || parseInt(val, 8) > 0xffffffff) throw new MountSpecError(`invalid value ${val} for mode`);
      m.mode = parseInt(val, 8);
      break;
    }
    case 'uid':
    case 'gid': {
      if (!/^[0-9]+$/.test(val) || Number(val) > 0xffffffff) throw new MountSpecError(`invalid value ${val} for ${key}`);
      m[key] = Number(val);
      break;
    }
    case 'env':
      m.env = val;
      break;
    default: {
      const near = suggest(key, MOUNT_KEYS);
      throw new MountSpecError(`unexpected key '${key}' in '${field}'`, near ? `did you mean ${near}?` : undefined);
    }
  }
}

/** BuildKit's validateMount, and the default read-only mode when neither ro nor rw was given. */
function validateMount(m: MountSpec, roAuto: boolean): void {
  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  if (!fileInfoAllowed) {
    if (m.mode !== undefined) throw new MountSpecError(`mode not allowed for ${JSON.stringify(m.type)} type mounts`);
    if (m.uid !== undefined) throw new MountSpecError(`uid not allowed for ${JSON.stringify(m.type)} type mounts`);
    if (m.gid !== undefined) throw new MountSpecError(`gid not allowed for ${JSON.stringify(m.type)} type mounts`);
  }
  // BuildKit ignores env= on other mounts; refused here, as it would do nothing.
  if (m.env !== undefined && m.type !== 'secret') throw new MountSpecError(`env not allowed for ${JSON.stringify(m.type)} type mounts`, 'env= exposes a secret: use it with type=secret');
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from) throw new MountSpecError('secret mount should not have a from');
    if (m.sharing) throw new MountSpecError('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw new MountSpecError('invalid secret mount. one of source, target required');
    if (m.source && m.id) throw new MountSpecError("both source and id can't be set");
  }
  if (m.sharing && m.type !== 'cache') throw new MountSpecError(`invalid cache sharing set for ${m.type} mount`);
  if (m.type === 'ssh' && m.source) throw new MountSpecError('ssh does not support source');
}

/** The `from=` of a raw mount value, checking it has no variable (BuildKit forbids it). Throws MountSpecError. */
export function mountFrom(raw: string): string | undefined {
  let fields: string[];
  try {
    fields = readCsvRecord(raw);
  } catch (e) {
    throw new MountSpecError(`failed to parse csv mounts: ${String(e)}`);
  }
  let from: string | undefined;
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0 || field.slice(0, eq).toLowerCase() !== 'from') continue;
    const v = field.slice(eq + 1);
    if (/\$./s.test(v)) throw new MountSpecError("'from' doesn't support variable expansion, define alias stage instead");
    from = v;
  }
  return from;
}
