/**
 * Small re-implementations of the Go standard library functions BuildKit's parser relies on, so
 * that our output matches theirs byte for byte: `unicode.IsSpace`, `strings.TrimSpace`,
 * `strings.ToLower` and `strconv.Quote`. Pure functions, no state.
 */

/** Go `unicode.IsSpace` as a character class (note: U+0085 yes, U+FEFF no, unlike JS `\s`). */
export const GO_SPACE_CLASS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const SPACE_RE = new RegExp(`[${GO_SPACE_CLASS}]`);

/** Go `unicode.IsSpace` for one UTF-16 code unit (all Go space runes are in the BMP). */
export function isGoSpace(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return c === 32 || (c >= 9 && c <= 13);
  return SPACE_RE.test(ch);
}

/** Index of the first non-space char in `s[from, to)` (Go `TrimLeftFunc(unicode.IsSpace)`). */
export function skipSpace(s: string, from: number, to: number): number {
  while (from < to && isGoSpace(s[from])) from++;
  return from;
}

/** Index just past the last non-space char in `s[from, to)`. */
export function skipSpaceBack(s: string, from: number, to: number): number {
  while (to > from && isGoSpace(s[to - 1])) to--;
  return to;
}

/** Go `strings.TrimSpace`. */
export function trimSpace(s: string): string {
  const a = skipSpace(s, 0, s.length);
  return s.slice(a, skipSpaceBack(s, a, s.length));
}

/** Go `strings.ToLower`: per code point (no final-sigma context rule, `İ` → `i`). */
export function goToLower(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) out += ch === '\u0130' ? 'i' : ch.toLowerCase();
  return out;
}

/** Go `strings.ToUpper`, per code point. */
export function goToUpper(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const u = ch.toUpperCase();
    out += [...u].length === 1 ? u : ch; // Go maps rune to rune (ß stays ß)
  }
  return out;
}

const PRINTABLE = /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u;
// eslint-disable-next-line no-control-regex
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Go `strconv.Quote`: double-quoted, `"` and `\` escaped, control characters as `\a \b \f \n \r
 * \t \v` or `\xNN`, other non-printable characters as `\uNNNN`/`\UNNNNNNNN`. Lone surrogates (which
 * a Go string cannot hold) print as U+FFFD would: `�`.
 */
export function goQuote(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (cp) {
      case 0x22: out += '\\"'; continue;
      case 0x5c: out += '\\\\'; continue;
      case 0x07: out += '\\a'; continue;
      case 0x08: out += '\\b'; continue;
      case 0x0c: out += '\\f'; continue;
      case 0x0a: out += '\\n'; continue;
      case 0x0d: out += '\\r'; continue;
      case 0x09: out += '\\t'; continue;
      case 0x0b: out += '\\v'; continue;
    }
    if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else if (cp < 0x7f || ch === ' ' || PRINTABLE.test(ch)) {
      out += ch;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\ufffd';
    } else if (cp < 0x10000) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else {
      out += `\\U${cp.toString(16).padStart(8, '0')}`;
    }
  }
  return out + '"';
}

/** Go `%q` of a `[]string`: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}
