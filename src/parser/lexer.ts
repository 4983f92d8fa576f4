/**
 * The line-level lexer. moo splits the text into whole physical lines (each token ends with its
 * `\n`, or at end of input) and classifies each one:
 *
 * - `blank`: only whitespace (Go `unicode.IsSpace`);
 * - `directive`: `# syntax|escape|check = value` (only meaningful in the leading block);
 * - `comment`: first non-space character is `#`;
 * - `cont`: ends with the escape char (plus spaces/tabs), not preceded by the escape char;
 * - `line`: any other line.
 *
 * `TokenStream` wraps moo for nearley. It tracks which lines close an instruction and, for
 * RUN/COPY/ADD lines with `<<`, re-labels the following lines as heredoc body (`hdbody`) and
 * terminator (`hdend`) tokens, since heredoc delimiters are context-dependent. It never throws
 * for user errors: it records the first stream-level error (unterminated heredoc, over-long
 * line) in `pending` and ends the stream there, so that errors are reported in file order.
 */
import moo from 'moo';
import { GO_SPACE_CLASS } from './go.js';

export type LineType = 'blank' | 'directive' | 'comment' | 'cont' | 'line' | 'trivia' | 'conts' | 'hdbody' | 'hdend';

/**
 * A token: one physical line, or (for `trivia` and `conts`) a run of them. `offset` is into the
 * lexed text (the BOM, if any, already removed).
 */
export interface LineToken {
  type: LineType;
  text: string;
  offset: number;
  /** 1-based physical line number (of the first line). */
  line: number;
  /** Same as `text` (nearley wants a `value`). */
  value: string;
}

/** A stream-level error found while tokenizing, reported after the instructions before it. */
export interface PendingError {
  kind: 'unterminated-heredoc' | 'line-too-long';
  /** The first token of the instruction (heredoc) or the over-long line. */
  token: LineToken;
}

/** What the stream needs to know about a completed instruction: its heredoc delimiters. */
export interface HeredocSpec {
  name: string;
  chomp: boolean;
}

/**
 * Called for each completed instruction whose lines contain `<<`; returns its heredoc
 * delimiters in order (empty when it has none). Must not throw: errors are found again later.
 */
export type HeredocProbe = (lines: LineToken[]) => HeredocSpec[];

const WS = GO_SPACE_CLASS.replace('\\n', '');
const DIRECTIVE = `[${WS}]*#[\\t\\f\\r ]*(?:[sS][yY][nN][tT][aA][xX]|[eE][sS][cC][aA][pP][eE]|[cC][hH][eE][cC][kK])[\\t\\f\\r ]*=\\r*[^\\r\\n][^\\n]*(?:\\n|$)`;
/** A blank or comment line, without its `\n`. */
const TRIVIA = `[${WS}]*(?:#[^\\n]*)?`;

function compile(escape: '\\' | '`'): moo.Lexer {
  const e = escape === '\\' ? '\\\\' : '`';
  // A continued line (not a comment), without its `\n`.
  const cont = `(?![${WS}]*#)(?:[^\\n]*[^${e}\\n])?${e}[ \\t]*\\r*`;
  return moo.compile({
    directive: { match: new RegExp(DIRECTIVE), lineBreaks: true },
    trivia: { match: new RegExp(`(?:${TRIVIA}\\n)+(?:[${WS}]+$|[${WS}]*#[^\\n]*$)?|[${WS}]+$|[${WS}]*#[^\\n]*$`), lineBreaks: true },
    conts: { match: new RegExp(`(?:${cont}\\n)+(?:${cont}$)?|${cont}$`), lineBreaks: true },
    line: { match: /[^\n]*\n|[^\n]+$/, lineBreaks: true },
  });
}

const LEXERS = { '\\': compile('\\'), '`': compile('`') };

const MAX_LINE = 65535;

/** UTF-8 length of line `s` without its final `\n` is above 65535 bytes (BuildKit's scanner limit). */
function tooLong(s: string): boolean {
  const n = s.endsWith('\n') ? s.length - 1 : s.length;
  if (n <= MAX_LINE / 3) return false;
  return Buffer.byteLength(s) - (s.endsWith('\n') ? 1 : 0) > MAX_LINE;
}

/** Splits a `trivia` or `conts` token into its physical lines (`blank`/`comment`/`cont`). */
export function explode(t: LineToken): LineToken[] {
  if (t.type !== 'trivia' && t.type !== 'conts') return [t];
  const out: LineToken[] = [];
  let i = 0;
  let line = t.line;
  const s = t.text;
  while (i < s.length) {
    let j = s.indexOf('\n', i);
    j = j < 0 ? s.length : j + 1;
    const text = s.slice(i, j);
    let type: LineType = 'cont';
    if (t.type === 'trivia') {
      let k = 0;
      while (k < text.length && text[k] !== '#' && text[k] !== '\n') k++;
      type = text[k] === '#' ? 'comment' : 'blank';
    }
    out.push({ type, text, offset: t.offset + i, line, value: text });
    line++;
    i = j;
  }
  return out;
}

export class TokenStream {
  pending: PendingError | undefined;
  private moo: moo.Lexer;
  private text = '';
  /** Offset of moo's current chunk in `text` (moo restarts after heredoc bodies). */
  private chunkBase = 0;
  private queue: LineToken[] = [];
  private qpos = 0;
  private inCont = false;
  private current: LineToken[] = [];
  private done = false;
  private held: LineToken | undefined;

  constructor(
    escape: '\\' | '`' = '\\',
    private readonly probe: HeredocProbe = () => [],
  ) {
    this.moo = LEXERS[escape];
  }

  reset(chunk: string): void {
    this.text = chunk;
    this.chunkBase = 0;
    this.moo.reset(chunk);
    this.queue = [];
    this.qpos = 0;
    this.inCont = false;
    this.current = [];
    this.done = false;
    this.held = undefined;
    this.pending = undefined;
  }

  /** The next token from moo; splits off an over-long line into `pending`. */
  private raw(): LineToken | undefined {
    if (this.held) {
      this.pending = { kind: 'line-too-long', token: this.held };
      this.held = undefined;
      return undefined;
    }
    const m = this.moo.next();
    if (!m) return undefined;
    const t: LineToken = { type: m.type as LineType, text: m.text, offset: this.chunkBase + m.offset, line: m.line, value: m.text };
    if (t.text.length > MAX_LINE / 3) {
      const lines = explode(t);
      const bad = lines.findIndex((l) => tooLong(l.text));
      if (bad === 0) {
        this.pending = { kind: 'line-too-long', token: lines[0] };
        return undefined;
      }
      if (bad > 0) {
        this.held = lines[bad];
        const text = t.text.slice(0, lines[bad].offset - t.offset);
        return { ...t, text, value: text };
      }
    }
    return t;
  }

  next(): LineToken | undefined {
    if (this.qpos < this.queue.length) return this.queue[this.qpos++];
    if (this.done) return undefined;
    const t = this.raw();
    if (!t) {
      this.done = true;
      if (this.inCont && !this.pending) this.complete(); // a continuation open at EOF: may have heredocs
      return this.qpos < this.queue.length ? this.queue[this.qpos++] : undefined;
    }
    this.queue = [];
    this.qpos = 0;
    if (this.inCont) {
      this.current.push(t);
      if (t.type === 'line') this.complete();
      return t;
    }
    if (t.type === 'conts') {
      this.inCont = true;
      this.current = [t];
    } else if (t.type === 'line') {
      this.current = [t];
      this.complete();
    }
    return t;
  }

  /** The instruction in `current` is complete: read its heredoc bodies, if any, into the queue. */
  private complete(): void {
    const toks = this.current;
    this.inCont = false;
    this.current = [];
    if (!toks.some((l) => l.text.includes('<<'))) return;
    const specs = this.probe(toks.flatMap(explode));
    if (specs.length === 0) return;
    const last = toks[toks.length - 1];
    let pos = last.offset + last.text.length;
    let line = last.line + (last.text.match(/\n/g)?.length ?? 0);
    const out: LineToken[] = [];
    const text = this.text;
    for (const spec of specs) {
      for (;;) {
        if (pos >= text.length) {
          this.pending = { kind: 'unterminated-heredoc', token: toks[0] };
          this.done = true;
          return; // the instruction stays, without heredocs; the error is raised after it
        }
        let j = text.indexOf('\n', pos);
        j = j < 0 ? text.length : j + 1;
        const s = text.slice(pos, j);
        const t: LineToken = { type: 'hdbody', text: s, offset: pos, line, value: s };
        if (tooLong(s)) {
          this.pending = { kind: 'unterminated-heredoc', token: toks[0] };
          this.done = true;
          return;
        }
        pos = j;
        line++;
        let term = s.replace(/[\r\n]+$/, '');
        if (spec.chomp) term = term.replace(/^\t+/, '');
        if (term === spec.name) {
          t.type = 'hdend';
          out.push(t);
          break;
        }
        out.push(t);
      }
    }
    this.queue.push(...out);
    // Restart moo after the bodies.
    this.chunkBase = pos;
    const state = this.moo.save();
    this.moo.reset(text.slice(pos), { ...state, line, col: 1 });
  }

  save(): moo.LexerState {
    return this.moo.save();
  }

  formatError(t: LineToken, message?: string): string {
    return `${message ?? 'unexpected line'} at line ${t.line} (${t.type})`;
  }

  has(type: string): boolean {
    return ['directive', 'trivia', 'conts', 'line', 'hdbody', 'hdend'].includes(type);
  }
}

/** The lexer nearley's compiled grammar refers to; `parseDockerfile` gives each parse its own. */
export const defaultLexer = new TokenStream();
