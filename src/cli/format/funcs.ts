/**
 * The functions of mybuild's Go templates (./template.ts): Go text/template's builtins (and,
 * or, not, len, index, slice, print, printf, println, eq, ne, lt, le, gt, ge) and docker's
 * template functions (its templates.basicFunctions: json, split, join, title, lower, upper,
 * pad, truncate), with Go's printing of values (`fmt`'s %v: `[a b]` for slices,
 * `map[k:v]` for maps, `<nil>`, `<no value>` for a missing map key).
 */
import { UsageError } from '../../errors.js';

export type TemplateFunc = (...args: unknown[]) => unknown;

const STRUCTS = new WeakSet<object>();

/** Marks `o` as a struct (docker's formatter context): an unknown field is an error, not `<no value>`; json sorts its keys. */
export function asStruct<T extends object>(o: T): T {
  STRUCTS.add(o);
  return o;
}

export function isStruct(o: unknown): boolean {
  return typeof o === 'object' && o !== null && STRUCTS.has(o);
}

/** Go's truth of a value in if/with/and/or/not: false, 0, nil, "" and empty collections are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** fmt's %v of a JSON-like value. */
export function printValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  return formatV(v);
}

function formatV(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatV).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o)
      .filter((k) => typeof o[k] !== 'function')
      .sort()
      .map((k) => `${k}:${formatV(o[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

/** %v of a number: integers in full, others as Go's %g of float64 (shortest repr, e+XX exponents). */
function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  const m = /^(-?[\d.]+)e([-+])(\d+)$/.exec(s);
  if (m) return `${m[1]}e${m[2]}${m[3].padStart(2, '0')}`;
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) {
    const [mant, e] = n.toExponential().split('e');
    return `${mant}e${e[0]}${e.slice(1).padStart(2, '0')}`;
  }
  return s;
}

function fnError(name: string, msg: string): UsageError {
  return new UsageError(`template: :1: executing "" at <${name}>: error calling ${name}: ${msg}`);
}

function str(name: string, v: unknown): string {
  if (typeof v !== 'string') throw fnError(name, `wrong type for value; expected string; got ${v === null || v === undefined ? '<nil>' : Array.isArray(v) ? '[]interface {}' : typeof v}`);
  return v;
}

function int(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw fnError(name, `wrong type for value; expected int; got ${typeof v}`);
  return v;
}

/** Go's comparison of basic values; eq takes several right-hand values (eq a b c: a==b || a==c). */
function basic(name: string, v: unknown): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw fnError(name, 'incompatible types for comparison');
}

function ordered(name: string, a: unknown, b: unknown): [number | string, number | string] {
  const x = basic(name, a);
  const y = basic(name, b);
  if (typeof x !== typeof y || (typeof x !== 'number' && typeof x !== 'string')) throw fnError(name, 'incompatible types for comparison');
  return [x as number | string, y as number | string];
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatV(a);
  });
  return out;
}

/** fmt.Sprintf for the verbs templates use: %v %s %d %q %t %x %f %%, with width, `-` and precision. */
function sprintf(format: string, args: unknown[]): string {
  let n = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([vsdqtxXfeg%])/g, (_m, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${formatV(a)})`;
        break;
      case 'q':
        s = JSON.stringify(typeof a === 'string' ? a : formatV(a));
        break;
      case 'x':
      case 'X':
        s = typeof a === 'number' ? a.toString(16) : Buffer.from(String(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 'f':
        s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${typeof a}=${formatV(a)})`;
        break;
      case 'e':
      case 'g':
        s = typeof a === 'number' ? goNumber(a) : formatV(a);
        break;
      default:
        s = formatV(a);
        if (verb === 's' && prec !== undefined) s = [...s].slice(0, Number(prec)).join('');
    }
    const w = width === undefined ? 0 : Number(width);
    const len = [...s].length;
    if (len < w) s = flags.includes('-') ? s + ' '.repeat(w - len) : (flags.includes('0') && /[dfx]/.test(verb) ? '0' : ' ').repeat(w - len) + s;
    return s;
  }) + (n < args.length ? `%!(EXTRA ${args.slice(n).map((a) => `${typeof a}=${formatV(a)}`).join(', ')})` : '');
}

export const FUNCS: Record<string, TemplateFunc> = {
  // Go's builtins
  and: (...args) => {
    for (const a of args) if (!truth(a)) return a;
    return args[args.length - 1];
  },
  or: (...args) => {
    for (const a of args) if (truth(a)) return a;
    return args[args.length - 1];
  },
  not: (a) => !truth(a),
  len: (a) => {
    if (typeof a === 'string') return Buffer.byteLength(a);
    if (Array.isArray(a)) return a.length;
    if (a && typeof a === 'object') return Object.keys(a).length;
    throw fnError('len', `len of type ${a === null || a === undefined ? '<nil>' : typeof a}`);
  },
  index: (item, ...keys) => {
    let v = item;
    for (const k of keys) {
      if (Array.isArray(v)) {
        const i = int('index', k);
        if (i < 0 || i >= v.length) throw fnError('index', `index out of range: ${i}`);
        v = v[i];
      } else if (typeof v === 'string') {
        const i = int('index', k);
        const b = Buffer.from(v);
        if (i < 0 || i >= b.length) throw fnError('index', `index out of range: ${i}`);
        v = b[i];
      } else if (v && typeof v === 'object') {
        v = (v as Record<string, unknown>)[String(k)];
        if (v === undefined) v = null; // a missing map key: the zero value
      } else throw fnError('index', `can't index item of type ${v === null || v === undefined ? '<nil>' : typeof v}`);
    }
    return v;
  },
  slice: (item, ...idx) => {
    const nums = idx.map((i) => int('slice', i));
    if (typeof item === 'string' || Array.isArray(item)) return item.slice(nums[0] ?? 0, nums[1] ?? item.length);
    throw fnError('slice', "can't slice item");
  },
  print: (...args) => sprint(args),
  printf: (format, ...args) => sprintf(str('printf', format), args),
  println: (...args) => `${args.map(formatV).join(' ')}\n`,
  eq: (a, ...bs) => {
    if (!bs.length) throw fnError('eq', 'missing argument for comparison');
    const x = basic('eq', a);
    return bs.some((b) => {
      const y = basic('eq', b);
      if (x !== null && y !== null && typeof x !== typeof y) throw fnError('eq', 'incompatible types for comparison');
      return x === y;
    });
  },
  ne: (a, b) => {
    const x = basic('ne', a);
    const y = basic('ne', b);
    if (x !== null && y !== null && typeof x !== typeof y) throw fnError('ne', 'incompatible types for comparison');
    return x !== y;
  },
  lt: (a, b) => {
    const [x, y] = ordered('lt', a, b);
    return x < y;
  },
  le: (a, b) => {
    const [x, y] = ordered('le', a, b);
    return x <= y;
  },
  gt: (a, b) => {
    const [x, y] = ordered('gt', a, b);
    return x > y;
  },
  ge: (a, b) => {
    const [x, y] = ordered('ge', a, b);
    return x >= y;
  },
  // docker's (cli/templates/templates.go basicFunctions)
  json: (v) => goJson(JSON.stringify(jsonValue(v)) ?? 'null'),
  split: (s, sep) => str('split', s).split(str('split', sep)),
  join: (a, sep) => {
    if (!Array.isArray(a)) throw fnError('join', `wrong type for value; expected []string; got ${typeof a}`);
    return a.map((x) => str('join', x)).join(str('join', sep));
  },
  title: (s) => str('title', s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase()),
  lower: (s) => str('lower', s).toLowerCase(),
  upper: (s) => str('upper', s).toUpperCase(),
  pad: (s, before, after) => `${' '.repeat(Math.max(0, int('pad', before)))}${str('pad', s)}${' '.repeat(Math.max(0, int('pad', after)))}`,
  truncate: (s, n) => {
    const t = str('truncate', s);
    const k = int('truncate', n);
    return [...t].length > k ? [...t].slice(0, k).join('') : t;
  },
};

/** Go's encoding/json escapes <, >, & and U+2028/2029 (docker's json function keeps that default). */
function goJson(s: string): string {
  return s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What `json` encodes: methods dropped, struct contexts (Go maps of their fields) with sorted keys. */
function jsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (Array.isArray(v) || v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => typeof o[k] !== 'function');
  if (isStruct(o)) keys.sort();
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}
