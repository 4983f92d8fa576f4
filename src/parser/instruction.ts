/**
 * Turns a logical line into an instruction node, with BuildKit's per-keyword argument rules
 * (frontend/dockerfile/parser/line_parsers.go): flags, JSON exec form with shell-form fallback,
 * whitespace splitting, ENV/LABEL pairs, quote-aware words, HEALTHCHECK, ONBUILD triggers.
 */
import type { Position, Range } from '../oci/range.js';
import type { Arg, Flag, Instruction, KeyValue } from './ast.js';
import { ParseError } from '../errors.js';
import { goQuote, goToLower, isGoSpace, skipSpace, skipSpaceBack } from './go.js';
import { endAt, posAt, type LogicalLine, type SourceText } from './logical-line.js';

/** What a user error needs to point at its source. */
export interface ParseSource extends SourceText {
  file: string;
  /** The whole text as given (for the excerpt). */
  text: string;
}

const NOT_STRINGS = 'when using JSON array syntax, arrays must be comprised of strings only';

/** `[\t\v\f\r ]` (BuildKit's reWhitespace). */
function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}

interface Ctx {
  src: ParseSource;
  l: LogicalLine;
  /** Range of the whole instruction, for errors. */
  range: Range;
}

function span(c: Ctx, i: number, j: number): Range {
  return { start: posAt(c.src, c.l, i), end: endAt(c.src, c.l, j, i) };
}

function arg(c: Ctx, i: number, j: number, value = c.l.text.slice(i, j)): Arg {
  return { value, range: span(c, i, j) };
}

function fail(c: Ctx, message: string, range: Range = c.range): never {
  throw new ParseError(message, { source: { file: c.src.file, range, text: c.src.text } });
}

/** Go `unicode.IsSpace(rune(b))` for one byte of the UTF-8 text. */
function byteIsSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13) || b === 0x85 || b === 0xa0;
}

/**
 * BuildKit's extractBuilderFlags. It walks bytes (not runes), so a non-ASCII character in a
 * flag comes out as one Latin-1 character per UTF-8 byte; we reproduce that for identical dumps.
 */
function extractFlags(c: Ctx, from: number, to: number): { flags: Flag[]; rest: number } {
  const text = c.l.text;
  let p = from;
  while (p < to && isWs(text.charCodeAt(p))) p++;
  if (!(text[p] === '-' && text[p + 1] === '-')) return { flags: [], rest: p };
  // Units: one per ASCII char, one per UTF-8 byte of other chars; idx = index in text.
  const ch: number[] = [];
  const idx: number[] = [];
  for (let i = from; i < to; ) {
    const cp = text.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    if (cp < 0x80) {
      ch.push(cp);
      idx.push(i);
    } else {
      for (const byte of Buffer.from(text.slice(i, i + w), 'utf8')) {
        ch.push(byte);
        idx.push(i);
      }
    }
    i += w;
  }
  const n = ch.length;
  const idxAt = (u: number): number => (u >= n ? to : idx[u]);
  const flags: Flag[] = [];
  let phase = 0; // 0 spaces, 1 word, 2 quote
  let word = '';
  let quote = 0;
  let blankOK = false;
  let wordStart = 0;
  const push = (endUnit: number): void => {
    const s = idxAt(wordStart);
    const e = endUnit >= n ? to : idx[endUnit - 1] + (text.codePointAt(idx[endUnit - 1])! > 0xffff ? 2 : 1);
    const eq = word.indexOf('=');
    flags.push({
      name: eq < 0 ? word.slice(2) : word.slice(2, eq),
      value: eq < 0 ? null : word.slice(eq + 1),
      raw: word,
      range: span(c, s, Math.max(e, s)),
    });
  };
  let cu = 0;
  for (let pos = 0; pos <= n; pos++) {
    if (pos !== n) cu = ch[pos];
    if (phase === 0) {
      if (pos === n) break;
      if (byteIsSpace(cu)) continue;
      if (cu !== 45 || pos + 1 === n || ch[pos + 1] !== 45) return { flags, rest: idxAt(pos) };
      phase = 1;
      wordStart = pos;
    }
    if (pos === n) {
      if (word !== '--' && (blankOK || word.length > 0)) push(pos);
      break;
    }
    if (phase === 1) {
      if (byteIsSpace(cu)) {
        phase = 0;
        if (word === '--') return { flags, rest: idxAt(pos) };
        if (blankOK || word.length > 0) push(pos);
        word = '';
        blankOK = false;
        continue;
      }
      if (cu === 39 || cu === 34) {
        quote = cu;
        blankOK = true;
        phase = 2;
        continue;
      }
      if (cu === 92) {
        if (pos + 1 === n) continue;
        cu = ch[++pos];
      }
      word += String.fromCharCode(cu);
      continue;
    }
    if (cu === quote) {
      phase = 1;
      continue;
    }
    if (cu === 92) {
      if (pos + 1 === n) {
        phase = 1;
        continue;
      }
      cu = ch[++pos];
    }
    word += String.fromCharCode(cu);
  }
  return { flags, rest: to };
}

function wellFormed(s: string): string {
  const f = (s as { toWellFormed?: () => string }).toWellFormed;
  return f ? f.call(s) : s;
}

/** BuildKit's parseJSON: null when the text is not a JSON value starting with `[`. */
function parseJSON(c: Ctx, from: number, to: number): Arg[] | null {
  const text = c.l.text;
  if (text[from] !== '[') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(from, to));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  if (!parsed.every((v) => typeof v === 'string')) fail(c, NOT_STRINGS, span(c, from, to));
  const args: Arg[] = [];
  let i = from + 1;
  const skipWs = (): void => {
    while (i < to && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  for (const v of parsed as string[]) {
    skipWs();
    const s = i;
    i++; // opening quote
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    args.push(arg(c, s, i, wellFormed(v)));
    skipWs();
    if (text[i] === ',') i++;
  }
  return args;
}

function splitWs(c: Ctx, from: number, to: number): Arg[] {
  const text = c.l.text;
  const out: Arg[] = [];
  if (from >= to) return out;
  let s = from;
  for (let i = from; i <= to; i++) {
    if (i === to || isWs(text.charCodeAt(i))) {
      out.push(arg(c, s, i));
      while (i < to && isWs(text.charCodeAt(i + 1))) i++;
      s = i + 1;
    }
  }
  return out;
}

function maybeJSON(c: Ctx, from: number, to: number): { json: boolean; args: Arg[] } {
  if (from >= to) return { json: false, args: [] };
  const j = parseJSON(c, from, to);
  return j ? { json: true, args: j } : { json: false, args: [arg(c, from, to)] };
}

function maybeJSONToList(c: Ctx, from: number, to: number): { json: boolean; args: Arg[] } {
  const j = parseJSON(c, from, to);
  return j ? { json: true, args: j } : { json: false, args: splitWs(c, from, to) };
}

interface Word {
  value: string;
  start: number;
  end: number;
}

/** BuildKit's parseWords: split on unquoted whitespace, quotes and escapes kept. */
function parseWords(c: Ctx, from: number, to: number): Word[] {
  const text = c.l.text;
  const esc = c.src.escape;
  const words: Word[] = [];
  let phase = 0;
  let word = '';
  let quote = '';
  let blankOK = false;
  let start = from;
  const at = (p: number): [string, number] => {
    const cp = text.codePointAt(p)!;
    return cp > 0xffff ? [text.slice(p, p + 2), 2] : [text[p], 1];
  };
  let ch = '';
  let w = 1;
  for (let pos = from; pos <= to; pos += w) {
    if (pos !== to) [ch, w] = at(pos);
    if (phase === 0) {
      if (pos === to) break;
      if (isGoSpace(ch)) continue;
      phase = 1;
      start = pos;
    }
    if (pos === to) {
      if (blankOK || word.length > 0) words.push({ value: word, start, end: to });
      break;
    }
    if (phase === 1) {
      if (isGoSpace(ch)) {
        phase = 0;
        if (blankOK || word.length > 0) words.push({ value: word, start, end: pos });
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 2;
      }
      if (ch === esc) {
        if (pos + w === to) continue;
        word += ch;
        pos += w;
        [ch, w] = at(pos);
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 1;
    if (ch === esc && quote !== "'") {
      if (pos + w === to) {
        phase = 1;
        continue;
      }
      pos += w;
      word += ch;
      [ch, w] = at(pos);
    }
    word += ch;
  }
  return words;
}

function nameVal(c: Ctx, from: number, to: number, key: 'ENV' | 'LABEL'): KeyValue[] {
  const words = parseWords(c, from, to);
  if (words.length === 0) return [];
  const text = c.l.text;
  if (!words[0].value.includes('=')) {
    let p = from;
    while (p < to && !isWs(text.charCodeAt(p))) p++;
    let q = p;
    while (q < to && isWs(text.charCodeAt(q))) q++;
    if (p >= to) fail(c, `${key} must have two arguments`);
    return [{ key: text.slice(from, p), value: text.slice(q, to), sep: '', range: span(c, from, to) }];
  }
  return words.map((w) => {
    const eq = w.value.indexOf('=');
    if (eq < 0) fail(c, `Syntax error - can't find = in ${goQuote(w.value)}. Must be of the form: name=value`, span(c, w.start, w.end));
    return { key: w.value.slice(0, eq), value: w.value.slice(eq + 1), sep: '=', range: span(c, w.start, w.end) };
  });
}

/** HEALTHCHECK splits at the first byte Go's IsSpace(rune(byte)) accepts. */
function charIsByteSpace(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return byteIsSpace(c);
  for (const b of Buffer.from(ch, 'utf8')) if (b === 0x85 || b === 0xa0) return true;
  return false;
}

function health(c: Ctx, from: number, to: number): { json: boolean; args: Arg[] } {
  const text = c.l.text;
  let sep = from;
  while (sep < to && !charIsByteSpace(text[sep])) sep++;
  let next = sep;
  while (next < to && charIsByteSpace(text[next])) next++;
  if (sep === from) return { json: false, args: [] };
  const cmd = maybeJSON(c, next, to);
  return { json: cmd.json, args: [arg(c, from, sep), ...cmd.args] };
}

/**
 * How deep ONBUILD triggers may nest (`ONBUILD ONBUILD … RUN`). BuildKit's parser takes any depth
 * (and its build refuses more than one level); each level is a stack frame here and in every
 * consumer of the AST (dump, JSON), so a few thousand would overflow the stack.
 */
export const MAX_ONBUILD_DEPTH = 100;

/**
 * Builds the instruction in logical indexes [from, to) of `l`. `range` is the instruction's whole
 * range (set by the caller; a trigger's range is computed here). `depth` counts the ONBUILDs
 * around it; throws ParseError past MAX_ONBUILD_DEPTH.
 */
export function buildInstruction(src: ParseSource, l: LogicalLine, from: number, to: number, range?: Range, depth = 0): Instruction {
  const text = l.text;
  const a = skipSpace(text, from, to);
  const e = skipSpaceBack(text, a, to);
  const c: Ctx = { src, l, range: range ?? { start: posAt(src, l, a), end: endAt(src, l, e, a) } };
  let k = a;
  while (k < e && !isWs(text.charCodeAt(k))) k++;
  let r = k;
  while (r < e && isWs(text.charCodeAt(r))) r++;
  const keyword = text.slice(a, k);
  const { flags, rest } = extractFlags(c, r, e);
  const as = skipSpace(text, rest, e);
  const base = {
    keyword,
    range: c.range,
    keywordRange: span(c, a, k),
    flags,
    original: text.slice(from, to),
    rest: text.slice(as, e),
    heredocs: [],
  };
  const lower = goToLower(keyword);
  switch (lower) {
    case 'run':
    case 'cmd':
    case 'entrypoint':
    case 'shell': {
      const kind = lower.toUpperCase() as 'RUN' | 'CMD' | 'ENTRYPOINT' | 'SHELL';
      return { ...base, kind, ...maybeJSON(c, as, e) };
    }
    case 'add':
    case 'copy':
    case 'volume': {
      const kind = lower.toUpperCase() as 'ADD' | 'COPY' | 'VOLUME';
      return { ...base, kind, ...maybeJSONToList(c, as, e) };
    }
    case 'from':
    case 'expose':
      return { ...base, kind: lower.toUpperCase() as 'FROM' | 'EXPOSE', args: splitWs(c, as, e) };
    case 'arg':
      return { ...base, kind: 'ARG', args: parseWords(c, as, e).map((w) => arg(c, w.start, w.end, w.value)) };
    case 'maintainer':
    case 'user':
    case 'workdir':
    case 'stopsignal': {
      const kind = lower.toUpperCase() as 'MAINTAINER' | 'USER' | 'WORKDIR' | 'STOPSIGNAL';
      return { ...base, kind, args: as < e ? [arg(c, as, e)] : [] };
    }
    case 'env':
    case 'label': {
      const kind = lower.toUpperCase() as 'ENV' | 'LABEL';
      return { ...base, kind, pairs: nameVal(c, as, e, kind) };
    }
    case 'healthcheck':
      return { ...base, kind: 'HEALTHCHECK', ...health(c, as, e) };
    case 'onbuild':
      if (depth === MAX_ONBUILD_DEPTH && as < e) {
        throw new ParseError(`ONBUILD triggers nested more than ${MAX_ONBUILD_DEPTH} deep`, { source: { file: src.file, range: span(c, a, k), text: src.text }, hint: 'ONBUILD ONBUILD is refused at build time anyway: remove the extra ONBUILD keywords' });
      }
      return { ...base, kind: 'ONBUILD', trigger: as < e ? buildInstruction(src, l, as, e, undefined, depth + 1) : null };
    default:
      return { ...base, kind: 'UNKNOWN' };
  }
}

/** Whether BuildKit looks for heredocs in this instruction (RUN/COPY/ADD, also as trigger, not JSON). */
export function canContainHeredoc(node: Instruction): boolean {
  const n = node.kind === 'ONBUILD' && node.trigger ? node.trigger : node;
  return (n.kind === 'RUN' || n.kind === 'COPY' || n.kind === 'ADD') && !n.json;
}

export type { Position };
