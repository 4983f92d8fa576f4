/** Durations as HEALTHCHECK flags take them: Go's `time.ParseDuration`. Pure. */

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. Throws a string (Go's message) when invalid. */
export function parseGoDuration(s: string): number {
  const orig = s;
  const bad = `time: invalid duration ${JSON.stringify(orig)}`;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad;
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.') throw bad;
    s = s.slice(m[0].length);
    const u = /^[^\d.]+/.exec(s);
    if (!u) throw `time: missing unit in duration ${JSON.stringify(orig)}`;
    const unit = UNIT_NS[u[0]];
    if (unit === undefined) throw `time: unknown unit ${JSON.stringify(u[0])} in duration ${JSON.stringify(orig)}`;
    s = s.slice(u[0].length);
    total += Number(m[1] || '0') * unit + (m[2] ? Math.floor(Number(`0.${m[2]}`) * unit) : 0);
  }
  return neg ? -total : total;
}
