/**
 * Joins the physical lines of one instruction into BuildKit's logical line, keeping a map from
 * every logical index back to its physical line, column and offset.
 */
import type { Position } from '../oci/range.js';
import type { LineToken } from './lexer.js';
import { skipSpace } from './go.js';

/** Where the text was lexed from: `base` is 1 when a BOM was removed before lexing. */
export interface SourceText {
  base: number;
  escape: '\\' | '`';
}

interface Segment {
  /** Logical index where the segment starts. */
  li: number;
  /** Offset of the physical line in the lexed text. */
  tokOffset: number;
  line: number;
  /** Index inside the physical line where the segment starts. */
  k0: number;
}

export interface LogicalLine {
  text: string;
  segs: Segment[];
  /** A blank line inside the continuation was skipped (BuildKit's NoEmptyContinuation). */
  emptyContinuation: boolean;
  /** Start of the first line (after its leading whitespace). */
  start: Position;
  /** End of the last line's content (before its line ending). */
  end: Position;
}

/** Length of `s` without its trailing CR/LF characters (Go `bytes.TrimRight(s, "\r\n")`). */
export function contentLength(s: string): number {
  let n = s.length;
  while (n > 0 && (s.charCodeAt(n - 1) === 10 || s.charCodeAt(n - 1) === 13)) n--;
  return n;
}

/** For a `cont` line: the index of its continuation escape char (trailing spaces/tabs skipped). */
function escapeIndex(s: string, end: number): number {
  let i = end;
  while (i > 0 && (s[i - 1] === ' ' || s[i - 1] === '\t')) i--;
  return i - 1;
}

export function positionIn(src: SourceText, tok: LineToken, k: number): Position {
  return { line: tok.line, col: (tok.line === 1 ? src.base : 0) + k + 1, offset: src.base + tok.offset + k };
}

export function joinLines(src: SourceText, lines: LineToken[]): LogicalLine {
  let text = '';
  const segs: Segment[] = [];
  let emptyContinuation = false;
  let start: Position | undefined;
  for (let n = 0; n < lines.length; n++) {
    const t = lines[n];
    const s = t.text;
    const end = contentLength(s);
    let from = 0;
    let to = end;
    if (n === 0) {
      from = skipSpace(s, 0, end);
      start = positionIn(src, t, from);
      if (t.type === 'cont') to = escapeIndex(s, end);
    } else if (t.type === 'blank') {
      emptyContinuation = true;
      continue;
    } else if (t.type === 'comment' || t.type === 'directive') {
      continue;
    } else if (t.type === 'cont') {
      to = escapeIndex(s, end);
    }
    if (to < from) to = from;
    segs.push({ li: text.length, tokOffset: t.offset, line: t.line, k0: from });
    text += s.slice(from, to);
  }
  const last = lines[lines.length - 1];
  return { text, segs, emptyContinuation, start: start!, end: positionIn(src, last, contentLength(last.text)) };
}

/** The last segment starting at or before logical index `i` (binary search: lines can have thousands). */
function segFor(l: LogicalLine, i: number): Segment {
  const segs = l.segs;
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segs[mid].li > i) hi = mid - 1;
    else lo = mid;
  }
  return segs[lo];
}

/** Position of logical index `i` (a start position). */
export function posAt(src: SourceText, l: LogicalLine, i: number): Position {
  const g = segFor(l, i);
  const k = g.k0 + (i - g.li);
  return { line: g.line, col: (g.line === 1 ? src.base : 0) + k + 1, offset: src.base + g.tokOffset + k };
}

/** Exclusive end position for a span ending (exclusively) at logical index `i`. */
export function endAt(src: SourceText, l: LogicalLine, i: number, from: number): Position {
  if (i <= from) return posAt(src, l, from);
  const p = posAt(src, l, i - 1);
  return { line: p.line, col: p.col + 1, offset: p.offset + 1 };
}
