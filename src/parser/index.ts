/**
 * The Dockerfile parser: `parseDockerfile(text)` → AST + warnings, `dump(ast)` → BuildKit's
 * `result` form. Pure: no fs, env or clock.
 *
 * Pipeline: a directive pre-scan picks the escape char; moo lexes whole lines; TokenStream marks
 * heredoc bodies; nearley (grammar/dockerfile.ne) parses the file structure (directive block,
 * instructions with their continuation, comment and blank lines, heredocs); then each
 * instruction's logical line goes through BuildKit's per-keyword rules (instruction.ts).
 */
import nearley from 'nearley';
import type { Position, Range } from '../oci/range.js';
import type { Directive, Dockerfile, Heredoc, Instruction, ParseResult, ParseWarning, UnknownNode } from './ast.js';
import { InternalError, ParseError } from '../errors.js';
import grammar from './grammar.generated.js';
import { TokenStream, explode, type HeredocSpec, type LineToken } from './lexer.js';
import type { RawFile, RawInstruction } from './raw.js';
import { contentLength, joinLines, positionIn, type LogicalLine } from './logical-line.js';
import { buildInstruction, canContainHeredoc, type ParseSource } from './instruction.js';
import { heredocsFromLine, type HeredocHeader } from './heredoc.js';
import { skipSpace } from './go.js';
import { runChecks } from './checks.js';

export { dump, dumpInstruction } from './dump.js';
export { suggestInstruction, unknownInstructionError } from './suggest.js';

const compiled = nearley.Grammar.fromCompiled(grammar as unknown as nearley.CompiledRules);

export interface ParseOptions {
  /** The name errors and warnings are reported against; default `Dockerfile`. */
  file?: string;
}

// Go RE2's \s is [\t\n\f\r ]; `.` matches anything but \n (the line has none).
const DIRECTIVE_RE = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/s;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

/** A directive line's name/value, or null. `s` is the physical line without its line ending. */
function matchDirective(s: string): { name: string; value: string; at: number } | null {
  const at = skipSpace(s, 0, s.length);
  const m = DIRECTIVE_RE.exec(s.slice(at));
  if (!m) return null;
  const name = m[1].toLowerCase();
  return KNOWN_DIRECTIVES.has(name) ? { name, value: m[2], at } : null;
}

/** The escape char the leading directive block asks for (errors are reported later, in order). */
function prescanEscape(text: string): '\\' | '`' {
  let i = 0;
  while (i < text.length) {
    let j = text.indexOf('\n', i);
    if (j < 0) j = text.length;
    const line = text.slice(i, j);
    const d = matchDirective(line.slice(0, contentLength(line)));
    if (!d) break;
    if (d.name === 'escape') return d.value === '`' ? '`' : '\\';
    i = j + 1;
  }
  return '\\';
}

interface Analyzed {
  node: Instruction;
  logical: LogicalLine;
  heredocs: HeredocHeader[];
}

/**
 * Parses a Dockerfile. Throws ParseError (with `source` = file, range and the whole text) for
 * the errors BuildKit's parser reports: no instructions, bad or repeated directives, JSON arrays
 * of non-strings, ENV/LABEL without value or `=`, unterminated heredocs, lines over 65535 bytes.
 * Unknown instructions are kept as UNKNOWN nodes (see `unknownInstructionError`).
 */
export function parseDockerfile(text: string, opts: ParseOptions = {}): ParseResult {
  const file = opts.file ?? 'Dockerfile';
  const base = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const body = base ? text.slice(1) : text;
  const escape = prescanEscape(body);
  const ctx: ParseSource = { file, text, base, escape };

  // What the heredoc probe analyzed while lexing, kept until finish() takes it (only until then:
  // keeping every instruction's logical line to the end would only make work for the GC).
  const probed = new Map<number, Analyzed>();
  const analyze = (toks: LineToken[]): Analyzed => {
    const done = probed.get(toks[0].offset);
    if (done) {
      probed.delete(toks[0].offset);
      return done;
    }
    const lines = toks.length === 1 && toks[0].type === 'line' ? toks : toks.flatMap(explode);
    const logical = joinLines(ctx, lines);
    const node = buildInstruction(ctx, logical, 0, logical.text.length, { start: logical.start, end: logical.end });
    let heredocs: HeredocHeader[] = [];
    if (canContainHeredoc(node) && logical.text.includes('<<')) {
      try {
        heredocs = heredocsFromLine(logical.text);
      } catch (msg) {
        throw new ParseError(String(msg), { source: { file, range: node.range, text } });
      }
    }
    return { node, logical, heredocs };
  };
  const probe = (lines: LineToken[]): HeredocSpec[] => {
    try {
      const a = analyze(lines);
      probed.set(lines[0].offset, a);
      return a.heredocs;
    } catch {
      return []; // reported again, in file order, when the instruction is built
    }
  };

  const stream = new TokenStream(escape, probe);
  const parser = new nearley.Parser(compiled);
  parser.lexer = stream as unknown as nearley.Lexer;
  try {
    parser.feed(body);
  } catch (err) {
    throw new InternalError(`the Dockerfile grammar rejected the token stream: ${(err as Error).message}`, { cause: err });
  }
  if (parser.results.length !== 1) {
    throw new InternalError(`the Dockerfile grammar produced ${parser.results.length} parses (expected exactly 1)`);
  }
  const raw = (parser.results[0] as () => RawFile)(); // the grammar defers building its arrays

  const err = (message: string, range: Range): ParseError => new ParseError(message, { source: { file, range, text } });
  const lineRange = (t: LineToken): Range => {
    const s = skipSpace(t.text, 0, contentLength(t.text));
    return { start: positionIn(ctx, t, s), end: positionIn(ctx, t, contentLength(t.text)) };
  };

  // Directives.
  const directives: Directive[] = [];
  for (const t of raw.directives) {
    const d = matchDirective(t.text.slice(0, contentLength(t.text)));
    if (!d) throw new InternalError(`line ${t.line} was lexed as a directive but does not match one`);
    const range = lineRange(t);
    if (directives.some((x) => x.name === d.name)) throw err(`only one ${d.name} parser directive can be used`, range);
    if (d.name === 'escape' && d.value !== '`' && d.value !== '\\') {
      throw err(`invalid escape token '${d.value}' does not match \` or \\`, range);
    }
    directives.push({ name: d.name, value: d.value, range });
  }

  // Instructions, in file order (so the first error in the file is the one reported).
  const instructions: Instruction[] = [];
  const warnings: ParseWarning[] = [];
  for (const ri of raw.instructions) instructions.push(finish(ri));

  function finish(ri: RawInstruction): Instruction {
    const a = analyze(ri.lines);
    if (a.logical.emptyContinuation) {
      warnings.push({ rule: 'NoEmptyContinuation', message: `Empty continuation line found in: ${a.logical.text}`, range: a.node.range });
    }
    if (ri.heredocs.length === 0) return a.node;
    if (ri.heredocs.length !== a.heredocs.length) throw new InternalError(`heredoc count mismatch at line ${ri.lines[0].line}`);
    const docs: Heredoc[] = ri.heredocs.map((h, i) => {
      const first = h.body[0] ?? h.end;
      return {
        ...a.heredocs[i],
        content: h.body.map((t) => t.text).join(''),
        range: { start: positionIn(ctx, first, 0), end: positionIn(ctx, h.end, contentLength(h.end.text)) },
      };
    });
    const end = docs[docs.length - 1].range.end;
    const node = { ...a.node, heredocs: docs, range: { start: a.node.range.start, end } } as Instruction;
    if (node.kind === 'ONBUILD' && node.trigger) node.trigger = { ...node.trigger, heredocs: docs } as Instruction;
    return node;
  }

  const eof = endPosition(text);
  if (stream.pending) {
    const p = stream.pending;
    if (p.kind === 'unterminated-heredoc') {
      const start = instructions.length ? instructions[instructions.length - 1].range.start : lineRange(p.token).start;
      throw err('unterminated heredoc', { start, end: eof });
    }
    const range = { start: positionIn(ctx, p.token, 0), end: positionIn(ctx, p.token, contentLength(p.token.text)) };
    if (instructions.length === 0) throw err('file with no instructions', range);
    throw err('dockerfile line greater than max allowed size of 65535', range);
  }
  if (instructions.length === 0) throw err('file with no instructions', { start: eof, end: eof });

  const ast: Dockerfile = { file, directives, escapeToken: escape, instructions };
  runChecks(ast, warnings);
  return { ast, warnings };
}

/** Start of the last line of the file (a final `\n` does not open a new line), for "no instructions". */
function endPosition(text: string): Position {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  let line = 1;
  for (let i = body.indexOf('\n'); i >= 0; i = body.indexOf('\n', i + 1)) line++;
  const offset = body.lastIndexOf('\n') + 1;
  return { line, col: 1, offset };
}

/** The AST as plain JSON (ranges included), for `mybuild parse --json`. */
export function toJSON(ast: Dockerfile): string {
  return JSON.stringify(ast, null, 2);
}

export type { UnknownNode };
