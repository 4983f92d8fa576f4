/**
 * How the store's CLI commands show things, matching the Docker CLI: sizes as go-units
 * `HumanSizeWithPrecision(n, 3)` ("7.8MB"), ages as `HumanDuration` ("2 hours"), 12-digit short
 * IDs, `REPOSITORY`/`TAG` split of a stored name, and tabwriter-style columns. Pure functions.
 */
import { familiarName, isInvalid, readReference } from '../oci/reference.js';

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** Go's `%.Ng` (N = 3 by default): N significant digits, trailing zeros trimmed, exponent form `1e+03` when needed. */
function goG3(x: number, digits = 3): string {
  if (x === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(digits)))));
  if (exp < -4 || exp >= digits) {
    const [mant, e] = x.toExponential(digits - 1).split('e');
    const m = mant.replace(/\.?0+$/, '');
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = x.toPrecision(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Docker's human size: decimal units, 3 significant digits (`0B`, `512B`, `7.8MB`, `1.23GB`); go-units HumanSize is `precision` 4. */
export function humanSize(bytes: number, precision = 3): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${goG3(size, precision)}${DECIMAL_UNITS[i]}`;
}

/** go-units `HumanDuration` (without " ago"). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** "2 hours ago", or "N/A" when the time is missing or invalid. */
export function createdSince(created: string | undefined, now: number = Date.now()): string {
  const t = created ? Date.parse(created) : NaN;
  return Number.isNaN(t) ? 'N/A' : `${humanDuration(Math.max(0, now - t))} ago`;
}

/** The 12 hex digits Docker shows for an image ID. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** REPOSITORY, TAG and digest of a stored name, as Docker displays them (`docker.io/library/app:1` → `app`, `1`). */
export function splitName(full: string): { repository: string; tag: string; digest?: string; familiar: string } {
  const ref = readReference(full);
  if (isInvalid(ref)) return { repository: full, tag: '<none>', familiar: full };
  return { repository: familiarName(ref.name), tag: ref.tag ?? '<none>', digest: ref.digest, familiar: ref.familiar() };
}

/**
 * Aligns rows into columns like Go's tabwriter as the Docker CLI configures it (min width 10,
 * padding 3): every column but the last is padded to its widest cell + 3, at least 10.
 */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, c) => Math.max(10, ...rows.map((r) => (r[c] ?? '').length + 3)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('')).join('\n') + '\n';
}
