/**
 * The subset of Go's text/template that docker's `--format` uses, parsed and executed as Go
 * does: text and `{{actions}}` (with `{{-`/`-}}` trimming and `{{/* comments *\/}}`), fields
 * (`.A.B`, `$`, `$x.A`, `(pipe).A`), pipelines (`a | b`), variables (`$x := …`, `$i, $v :=` in
 * range), `if`/`else if`/`else`, `range` (arrays, objects by sorted key, `else`), `with`,
 * literals (strings, raw strings, numbers, true/false/nil) and functions (./funcs.ts: Go's
 * builtins and docker's json/join/split/lower/upper/title/pad/truncate).
 *
 * No npm library implements Go's text/template (the registry has Go-template wrappers around a
 * Go binary and formatters, none a JavaScript engine), so this is written here, against Go's
 * documented semantics. `define`, `template` and `block` are refused.
 *
 * Values are JSON-like: a missing object key is Go's "no value" (`<no value>`, as a map's), and
 * objects marked with `asStruct` are docker's formatter contexts, where an unknown field is an
 * error (`can't evaluate field X`), as on a Go struct. A function-valued field is a method
 * (`{{.Label "k"}}`).
 */
import { UsageError } from '../../errors.js';
import { FUNCS, isStruct, printValue, truth, type TemplateFunc } from './funcs.js';

type Operand =
  | { kind: 'dot' }
  | { kind: 'field'; base: Operand; names: string[] }
  | { kind: 'var'; name: string }
  | { kind: 'ident'; name: string }
  | { kind: 'literal'; value: unknown }
  | { kind: 'pipe'; pipe: Pipe };

interface Command {
  args: Operand[];
}
interface Pipe {
  decl: string[];
  cmds: Command[];
}
interface Control {
  kind: 'if' | 'range' | 'with';
  pipe: Pipe;
  list: Node[];
  elseList?: Node[];
}
type Node = { kind: 'text'; text: string } | { kind: 'action'; pipe: Pipe } | Control;

/** A template error, reported as docker does: `template parsing error: template: :1: …`. */
function parseError(msg: string): UsageError {
  return new UsageError(`template parsing error: template: :${msg}`, { hint: 'the --format value is a Go template: https://pkg.go.dev/text/template' });
}

// ---- lexing of one action's content ----

type Tok =
  | { t: 'field'; v: string }
  | { t: 'var'; v: string }
  | { t: 'ident'; v: string }
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'punct'; v: '(' | ')' | '|' | ':=' | '=' | ',' }
  | { t: 'chain'; v: string };

function lexAction(src: string, line: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const ident = /[A-Za-z_][A-Za-z0-9_]*/y;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      toks.push({ t: 'punct', v: c });
      i++;
      continue;
    }
    if (src.startsWith(':=', i)) {
      toks.push({ t: 'punct', v: ':=' });
      i += 2;
      continue;
    }
    if (c === '=') {
      toks.push({ t: 'punct', v: '=' });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw parseError(`${line}: unterminated quoted string`);
      try {
        toks.push({ t: 'string', v: JSON.parse(src.slice(i, j + 1).replace(/\\([abfv'])/g, (_m, e: string) => ({ a: '\\u0007', b: '\\b', f: '\\f', v: '\\u000b', "'": "'" })[e]!)) as string });
      } catch {
        throw parseError(`${line}: bad string ${src.slice(i, j + 1)}`);
      }
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw parseError(`${line}: unterminated raw quoted string`);
      toks.push({ t: 'string', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    const num = /[-+]?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)/y;
    num.lastIndex = i;
    const prev = toks[toks.length - 1];
    if ((/[-+\d]/.test(c) || (c === '.' && /\d/.test(src[i + 1] ?? ''))) && num.test(src)) {
      const text = src.slice(i, num.lastIndex);
      toks.push({ t: 'number', v: Number(text) });
      i = num.lastIndex;
      continue;
    }
    if (c === '.') {
      // `.` alone, `.Field`, or a chain after `)` / a variable: `(x).A`, `$v.A`
      ident.lastIndex = i + 1;
      const m = ident.exec(src);
      const name = m ? m[0] : '';
      const chained = prev && (prev.t === 'var' || (prev.t === 'punct' && prev.v === ')') || prev.t === 'chain' || (prev.t === 'field' && prev.v !== '')) && !/\s/.test(src[i - 1] ?? '');
      toks.push(chained && name ? { t: 'chain', v: name } : { t: 'field', v: name });
      i += 1 + name.length;
      continue;
    }
    if (c === '$') {
      ident.lastIndex = i + 1;
      const m = ident.exec(src);
      const name = m ? m[0] : '';
      toks.push({ t: 'var', v: `$${name}` });
      i += 1 + name.length;
      continue;
    }
    ident.lastIndex = i;
    const m = ident.exec(src);
    if (m) {
      toks.push({ t: 'ident', v: m[0] });
      i += m[0].length;
      continue;
    }
    throw parseError(`${line}: unexpected "${c}" in command`);
  }
  return toks;
}

// ---- parsing ----

class ActionParser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly line: number,
  ) {}

  done(): boolean {
    return this.i >= this.toks.length;
  }

  peek(): Tok | undefined {
    return this.toks[this.i];
  }

  skip(): void {
    this.i++;
  }

  pipe(): Pipe {
    const decl: string[] = [];
    // `$x :=` or `$i, $v :=`
    const save = this.i;
    const vars: string[] = [];
    while (this.peek()?.t === 'var') {
      vars.push(this.toks[this.i++].v as string);
      const p = this.peek();
      if (p?.t === 'punct' && p.v === ',') {
        this.i++;
        continue;
      }
      break;
    }
    const p = this.peek();
    if (vars.length && p?.t === 'punct' && (p.v === ':=' || p.v === '=')) {
      this.i++;
      decl.push(...vars);
    } else this.i = save;
    const cmds: Command[] = [];
    for (;;) {
      const args: Operand[] = [];
      while (!this.done()) {
        const t = this.peek()!;
        if (t.t === 'punct' && (t.v === '|' || t.v === ')')) break;
        args.push(this.operand());
      }
      if (!args.length) throw parseError(`${this.line}: missing value for command`);
      cmds.push({ args });
      const t = this.peek();
      if (t?.t === 'punct' && t.v === '|') {
        this.i++;
        continue;
      }
      break;
    }
    return { decl, cmds };
  }

  private operand(): Operand {
    const t = this.toks[this.i++];
    let op: Operand;
    switch (t.t) {
      case 'field':
        op = t.v === '' ? { kind: 'dot' } : { kind: 'field', base: { kind: 'dot' }, names: [t.v] };
        break;
      case 'var':
        op = { kind: 'var', name: t.v };
        break;
      case 'string':
      case 'number':
        op = { kind: 'literal', value: t.v };
        break;
      case 'ident':
        if (t.v === 'true' || t.v === 'false') op = { kind: 'literal', value: t.v === 'true' };
        else if (t.v === 'nil') op = { kind: 'literal', value: null };
        else if (Object.hasOwn(FUNCS, t.v)) op = { kind: 'ident', name: t.v };
        else throw parseError(`${this.line}: function "${t.v}" not defined`);
        break;
      case 'punct':
        if (t.v !== '(') throw parseError(`${this.line}: unexpected "${t.v}" in operand`);
        op = { kind: 'pipe', pipe: this.pipe() };
        if (this.toks[this.i]?.t !== 'punct' || this.toks[this.i].v !== ')') throw parseError(`${this.line}: unclosed left paren`);
        this.i++;
        break;
      default:
        throw parseError(`${this.line}: unexpected ${t.v} in operand`);
    }
    const names: string[] = [];
    while (this.peek()?.t === 'chain') names.push(this.toks[this.i++].v as string);
    if (names.length) op = op.kind === 'field' ? { ...op, names: [...op.names, ...names] } : { kind: 'field', base: op, names };
    return op;
  }
}

/** Splits `src` into text and action pieces, applying `{{-`/`-}}` trimming and dropping comments. */
function scan(src: string): Array<{ text: string } | { action: string; line: number }> {
  const out: Array<{ text: string } | { action: string; line: number }> = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) out.push({ text });
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(src.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) out.push({ text });
    const line = src.slice(0, open).split('\n').length;
    let close: number;
    if (src.slice(start).trimStart().startsWith('/*')) {
      const end = src.indexOf('*/', start);
      if (end < 0) throw parseError(`${line}: unclosed comment`);
      close = src.indexOf('}}', end);
    } else {
      // `}}` inside a string literal does not close the action
      close = -1;
      for (let j = start, q = ''; j < src.length; j++) {
        const c = src[j];
        if (q) {
          if (c === '\\' && q === '"') j++;
          else if (c === q) q = '';
        } else if (c === '"' || c === '`') q = c;
        else if (src.startsWith('}}', j)) {
          close = j;
          break;
        }
      }
    }
    if (close < 0) throw parseError(`${line}: unclosed action`);
    let body = src.slice(start, close);
    trimNext = /\s-$/.test(body);
    if (trimNext) body = body.slice(0, -1);
    if (!body.trimStart().startsWith('/*')) out.push({ action: body, line });
    i = close + 2;
  }
  return out;
}

/** A parsed template. */
export class Template {
  private constructor(private readonly root: Node[]) {}

  /** Parses `src`; throws UsageError `template parsing error: …` as docker reports it. */
  static parse(src: string): Template {
    const pieces = scan(src);
    let k = 0;
    type Stop = 'end' | 'else' | 'eof';
    const list = (): { nodes: Node[]; stop: Stop; rest?: ActionParser; line: number } => {
      const nodes: Node[] = [];
      while (k < pieces.length) {
        const p = pieces[k++];
        if ('text' in p) {
          nodes.push({ kind: 'text', text: p.text });
          continue;
        }
        const toks = lexAction(p.action, p.line);
        if (!toks.length) throw parseError(`${p.line}: missing value for command`);
        const head = toks[0];
        const word = head.t === 'ident' ? head.v : '';
        const parser = new ActionParser(toks.slice(word && ['if', 'range', 'with', 'else', 'end', 'define', 'template', 'block', 'break', 'continue'].includes(word) ? 1 : 0), p.line);
        if (word === 'end') return { nodes, stop: 'end', line: p.line };
        if (word === 'else') return { nodes, stop: 'else', rest: parser, line: p.line };
        if (word === 'define' || word === 'template' || word === 'block' || word === 'break' || word === 'continue') throw parseError(`${p.line}: {{${word}}} is not supported by mybuild's templates`);
        if (word === 'if' || word === 'range' || word === 'with') nodes.push(control(word, parser, p.line));
        else {
          const pipe = parser.pipe();
          if (!parser.done()) throw parseError(`${p.line}: unexpected "${String(parser.peek()!.v)}" in operand`);
          nodes.push({ kind: 'action', pipe });
        }
      }
      return { nodes, stop: 'eof', line: 0 };
    };
    const control = (word: 'if' | 'range' | 'with', parser: ActionParser, line: number): Node => {
      const pipe = parser.pipe();
      if (!parser.done()) throw parseError(`${line}: unexpected "${String(parser.peek()!.v)}" in ${word}`);
      const body = list();
      if (body.stop === 'eof') throw parseError(`${line}: unexpected EOF`);
      let elseList: Node[] | undefined;
      if (body.stop === 'else') {
        const rest = body.rest!;
        const next = rest.peek();
        if (next?.t === 'ident' && (next.v === 'if' || next.v === 'with') && word !== 'range') {
          // `{{else if …}}`: a nested if whose {{end}} is the outer one's
          rest.skip();
          elseList = [control(next.v, rest, body.line)];
        } else {
          if (!rest.done()) throw parseError(`${body.line}: unexpected "${String(next!.v)}" in else`);
          const e = list();
          if (e.stop !== 'end') throw parseError(`${body.line}: expected end; found ${e.stop === 'eof' ? 'EOF' : 'else'}`);
          elseList = e.nodes;
        }
      }
      return { kind: word, pipe, list: body.nodes, elseList };
    };
    const top = list();
    if (top.stop !== 'eof') throw parseError(`${top.line}: unexpected {{${top.stop}}}`);
    return new Template(top.nodes);
  }

  /** Executes the template on `data`; throws UsageError on an execution error (docker exits non-zero). */
  execute(data: unknown): string {
    const out: string[] = [];
    const vars: Array<[string, unknown]> = [['$', data]];
    new Exec(out, vars).list(this.root, data);
    return out.join('');
  }
}

class Exec {
  constructor(
    private readonly out: string[],
    private vars: Array<[string, unknown]>,
  ) {}

  list(nodes: Node[], dot: unknown): void {
    for (const n of nodes) this.node(n, dot);
  }

  private scoped(fn: () => void): void {
    const mark = this.vars.length;
    try {
      fn();
    } finally {
      this.vars.length = mark;
    }
  }

  private node(n: Node, dot: unknown): void {
    switch (n.kind) {
      case 'text':
        this.out.push(n.text);
        return;
      case 'action': {
        const v = this.pipe(n.pipe, dot);
        if (!n.pipe.decl.length) this.out.push(printValue(v));
        return;
      }
      case 'if':
      case 'with': {
        const c = n;
        this.scoped(() => {
          const v = this.pipe(c.pipe, dot);
          if (truth(v)) this.list(c.list, c.kind === 'with' ? v : dot);
          else if (c.elseList) this.list(c.elseList, dot);
        });
        return;
      }
      case 'range': {
        const r = n;
        this.scoped(() => this.range(r, dot));
        return;
      }
    }
  }

  private range(n: Control, dot: unknown): void {
    const decl = n.pipe.decl;
    const v = this.pipe({ ...n.pipe, decl: [] }, dot);
    const entries: Array<[unknown, unknown]> = [];
    if (Array.isArray(v)) v.forEach((e, i) => entries.push([i, e]));
    else if (typeof v === 'number' && Number.isInteger(v)) for (let i = 0; i < v; i++) entries.push([i, i]);
    else if (v && typeof v === 'object') for (const k of Object.keys(v).sort()) entries.push([k, (v as Record<string, unknown>)[k]]);
    else if (v !== null && v !== undefined) throw execError(`range can't iterate over ${printValue(v)}`);
    if (!entries.length) {
      if (n.elseList) this.list(n.elseList, dot);
      return;
    }
    for (const [k, e] of entries) {
      this.scoped(() => {
        if (decl.length === 1) this.vars.push([decl[0], e]);
        else if (decl.length === 2) this.vars.push([decl[0], k], [decl[1], e]);
        this.list(n.list, e);
      });
    }
  }

  private pipe(p: Pipe, dot: unknown): unknown {
    let v: unknown;
    let has = false;
    for (const c of p.cmds) {
      v = this.command(c, dot, has ? [v] : []);
      has = true;
    }
    for (const name of p.decl) this.vars.push([name, v]);
    return v;
  }

  private command(c: Command, dot: unknown, piped: unknown[]): unknown {
    const [head, ...rest] = c.args;
    if (head.kind === 'ident') {
      const fn: TemplateFunc = FUNCS[head.name];
      const args = [...rest.map((a) => this.operand(a, dot)), ...piped];
      return fn(...args);
    }
    if (head.kind === 'field') {
      const args = [...rest.map((a) => this.operand(a, dot)), ...piped];
      return this.field(head, dot, args);
    }
    if (rest.length || piped.length) throw execError(`can't give argument to non-function ${describe(head)}`);
    return this.operand(head, dot);
  }

  private operand(o: Operand, dot: unknown): unknown {
    switch (o.kind) {
      case 'dot':
        return dot;
      case 'literal':
        return o.value;
      case 'var': {
        const hit = this.vars.findLast(([n]) => n === o.name);
        if (!hit) throw parseError(`1: undefined variable "${o.name}"`);
        return hit[1];
      }
      case 'pipe':
        return this.pipe(o.pipe, dot);
      case 'field':
        return this.field(o, dot, []);
      case 'ident':
        return FUNCS[o.name]();
    }
  }

  /** `.A.B` (or `$x.A`, `(p).A`); the last one called with `args` when it is a method. */
  private field(o: Extract<Operand, { kind: 'field' }>, dot: unknown, args: unknown[]): unknown {
    let v = this.operand(o.base, dot);
    o.names.forEach((name, i) => {
      const last = i === o.names.length - 1;
      if (v === null || v === undefined) {
        if (v === null) throw execError(`nil pointer evaluating interface {}.${name}`);
        return;
      }
      if (typeof v !== 'object') throw execError(`can't evaluate field ${name} in type ${typeof v}`);
      const obj = v as Record<string, unknown>;
      if (!Object.hasOwn(obj, name)) {
        if (isStruct(obj) || Array.isArray(obj)) throw execError(`can't evaluate field ${name} in type ${isStruct(obj) ? 'struct' : 'slice'}`);
        v = undefined;
        return;
      }
      const f = obj[name];
      if (typeof f === 'function') v = (f as TemplateFunc)(...(last ? args : []));
      else {
        if (last && args.length) throw execError(`${name} has arguments but cannot be invoked as function`);
        v = f;
      }
    });
    return v;
  }
}

function describe(o: Operand): string {
  return o.kind === 'literal' ? printValue(o.value) : o.kind;
}

function execError(msg: string): UsageError {
  return new UsageError(`template: :1: executing "" ${msg}`);
}
